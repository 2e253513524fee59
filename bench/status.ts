// `npm run bench -- --status`: the status page's costs. GET /api/v1/status at 10,000 agents with
// 10 peers each (expected through the fake Kubernetes API): served from the per-verdict cache,
// and rebuilt after a report changed the verdict; Kubernetes API calls meanwhile. Then the page
// at 1,000 nodes (2,000 agents, 10 peers each) in headless Chromium: the first complete render
// after the data arrives and the main-thread time of a live update (the page's own
// performance.measure entries). Prints a section for docs/performance.md; asserts nothing.

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import puppeteer from 'puppeteer-core';
import { agentPod, discoveryArgs, FakeKube, type KubeObject, node } from '../test/helpers/fake-kube.js';
import { fmt, median, met, startExporter, type Server } from './lib.js';
import { call, timed } from './scale.js';

/** Our agent's report for agent i of n (nodes n/2): 10 peers, a spread of RTTs, DNS and path MTU. */
function reportOf(i: number, n: number): { name: string; body: string } {
  const nodes = n / 2;
  const host = i % 2 === 1;
  const self = Math.floor(i / 2);
  const peers = Array.from({ length: 10 }, (_, j) => {
    const k = (self + 1 + j * 37) % nodes;
    const peerHost = j % 2 === 1;
    return {
      name: `a${k}${peerHost ? 'h' : 'p'}`,
      node: `n${k}`,
      network: peerHost ? 'host' : 'pod',
      result: 'ok',
      sent: 3,
      lost: 0,
      rtt_ms: 0.2 + ((k * 7) % 50) / 10,
    };
  });
  const body = {
    report_interval: 15,
    nodename: `n${self}`,
    podname: `a${self}${host ? 'h' : 'p'}`,
    hostdate: new Date().toISOString(),
    nslookup: null,
    ips: null,
    network_probes: null,
    zero_extender: [],
    network: host ? 'host' : 'pod',
    dns: [{ server: '10.96.0.10', name: 'kubernetes.default.svc.cluster.local', result: 'ok', latency_ms: 0.8 }],
    path_mtu: { exporter: 1500, peers: 1450 },
    peers,
  };
  return { name: body.podname, body: JSON.stringify(body) };
}

/** An exporter that expects n agents through the fake API, each having reported once. */
async function cluster(n: number): Promise<{ exporter: Server; kube: FakeKube; close(): Promise<void> }> {
  const kube = await FakeKube.start();
  const nodes: KubeObject[] = [];
  const pods: KubeObject[] = [];
  for (let i = 0; i < n; i++) {
    const { name } = reportOf(i, n);
    if (i % 2 === 0) nodes.push(node(`n${i / 2}`));
    pods.push(agentPod(name, { node: `n${Math.floor(i / 2)}`, hostNetwork: i % 2 === 1 }));
  }
  kube.apply('nodes', ...nodes);
  kube.apply('pods', ...pods);
  const exporter = await startExporter([...discoveryArgs(kube), '--startup-grace', '0']);
  for (let i = 0; i < n; i += 32) {
    await Promise.all(
      Array.from({ length: Math.min(32, n - i) }, async (_, j) => {
        const r = reportOf(i + j, n);
        const res = await call(`${exporter.url}/api/v1/agents/${r.name}`, 'POST', r.body);
        if (res.status !== 200) throw new Error(`report ${r.name}: HTTP ${res.status}`);
      }),
    );
  }
  const until = Date.now() + 120_000;
  while ((await call(`${exporter.url}/api/v1/connectivity_check`, 'GET')).status !== 200) {
    if (Date.now() > until) throw new Error(`connectivity_check did not pass with ${n} agents`);
    await sleep(200);
  }
  return { exporter, kube, close: async () => void (await Promise.all([exporter.stop(), kube.close()])) };
}

async function statusJson(n: number, samples: number): Promise<string[]> {
  const c = await cluster(n);
  try {
    const url = `${c.exporter.url}/api/v1/status`;
    const apiBefore = c.kube.requests().length;
    const cached = await timed(url, samples);
    // Each GET after a report: the verdict is recomputed (with the metrics it feeds) and the body
    // built again. connectivity_check after a report is the same recomputation with a small body.
    const afterReport = async (target: string): Promise<number> => {
      const ms: number[] = [];
      for (let i = 0; i < samples; i++) {
        const r = reportOf(i, n);
        await call(`${c.exporter.url}/api/v1/agents/${r.name}`, 'POST', r.body);
        const t0 = performance.now();
        await call(target, 'GET');
        ms.push(performance.now() - t0);
      }
      return median(ms);
    };
    const ms = await afterReport(url);
    const check = await afterReport(`${c.exporter.url}/api/v1/connectivity_check`);
    const calls = c.kube.requests().length - apiBefore;
    return [
      `| ${fmt(n)} | ${fmt(cached.bytes / 1e6, 1)} | ${fmt(cached.ms, 1)} | <= 50 ${met(cached.ms <= 50)} | ${fmt(ms, 1)} | ${fmt(check, 1)} | ${calls} |`,
    ];
  } finally {
    await c.close();
  }
}

async function pageRender(n: number, updates: number): Promise<string> {
  const c = await cluster(n);
  const browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(`${c.exporter.url}/`, { waitUntil: 'load' });
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 60_000 });
    const read = (): Promise<{ parse: number; render: number; at: number }> =>
      page.evaluate(() => {
        const [p] = performance.getEntriesByName('netchecker:parse');
        const [r] = performance.getEntriesByName('netchecker:render');
        return { parse: p?.duration ?? NaN, render: r?.duration ?? NaN, at: r?.startTime ?? NaN };
      });
    const first = await read();
    const live: number[] = [];
    let last = first.at;
    while (live.length < updates) {
      // A report changes the verdict; the page's next poll (every 5 s at a 15 s interval) renders it.
      const r = reportOf(live.length, n);
      await call(`${c.exporter.url}/api/v1/agents/${r.name}`, 'POST', r.body);
      await page.waitForFunction(
        (t) => (performance.getEntriesByName('netchecker:render')[0]?.startTime ?? 0) > t,
        { timeout: 30_000, polling: 100 },
        last,
      );
      const m = await read();
      live.push(m.render);
      last = m.at;
    }
    const update = median(live);
    const firstMs = first.parse + first.render;
    return `At ${fmt(n / 2)} nodes (${fmt(n)} agents, 10 peers each) in headless Chromium ${(await browser.version()).replace(/^(Headless)?Chrome\//, '')}: first complete render ${fmt(firstMs)} ms after the data arrived (JSON parse ${fmt(first.parse)} ms + render ${fmt(first.render)} ms; target <= 1000, ${met(firstMs <= 1000)}); a live update ${fmt(update)} ms of main-thread time (median of ${updates}; target <= 100, ${met(update <= 100)}).`;
  } finally {
    await browser.close();
    await c.close();
  }
}

export async function runStatusBench(quick: boolean): Promise<number> {
  const out = [
    '## Status page',
    '',
    '| agents | /api/v1/status MB | median ms, no report between | target | median ms, a report before each | connectivity_check, a report before each, median ms | Kubernetes API calls |',
    '|---|---|---|---|---|---|---|',
  ];
  out.push(...(await statusJson(quick ? 200 : 10_000, quick ? 3 : 21)));
  out.push('', await pageRender(quick ? 100 : 2000, quick ? 1 : 5));
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}
