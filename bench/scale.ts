// Scale: N agents with full reports in one exporter that learns the expected agents from the
// fake Kubernetes API server (N/2 nodes, a pod-network and a host-network agent on each): the
// time and size of /metrics, the latency of connectivity_check and the Kubernetes API calls it
// makes, and the exporter's memory.

import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { agentPod, discoveryArgs, FakeKube, type KubeObject, node } from '../test/helpers/fake-kube.js';
import { median, rssBytes, startExporter } from './lib.js';

export interface ScaleRow {
  agents: number;
  metricsMs: number;
  metricsBytes: number;
  checkMs: number;
  /** Requests the exporter made to the Kubernetes API while the checks were answered. */
  checkApiCalls: number;
  /** Exporter RSS sampled every 250 ms from the first scrape until 10 s after the last check: median and maximum. */
  rssBytes: number;
  rssMaxBytes: number;
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 32 });

export function call(url: string, method: string, body?: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: keepAlive, headers: body ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length)).on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function timed(url: string, times: number): Promise<{ ms: number; bytes: number }> {
  const ms: number[] = [];
  let bytes = 0;
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    bytes = (await call(url, 'GET')).bytes;
    ms.push(performance.now() - t0);
  }
  return { ms: median(ms), bytes };
}

/** One exporter per size; every agent expected (a pod in the fake API) and reporting `body`. */
export async function benchScale(sizes: readonly number[], body: string, samples: number, rssTailMs = 10_000): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  for (const n of sizes) {
    const kube = await FakeKube.start();
    const names: string[] = [];
    const nodes: KubeObject[] = [];
    const pods: KubeObject[] = [];
    for (let i = 0; i < n / 2; i++) {
      nodes.push(node(`node-${i}`));
      for (const hostNetwork of [false, true]) {
        const name = `netchecker-agent-${hostNetwork ? 'hostnet-' : ''}${i}`;
        names.push(name);
        pods.push(agentPod(name, { node: `node-${i}`, hostNetwork }));
      }
    }
    kube.apply('nodes', ...nodes);
    kube.apply('pods', ...pods);
    const exporter = await startExporter([...discoveryArgs(kube), '--startup-grace', '0']);
    try {
      for (let i = 0; i < names.length; i += 32) {
        const batch = names.slice(i, i + 32).map(async (name) => {
          const r = await call(
            `${exporter.url}/api/v1/agents/${name}`,
            'POST',
            body.replace(/"nodename":"[^"]*"/, `"nodename":"node-${name.replace(/\D/g, '')}"`),
          );
          if (r.status !== 200) throw new Error(`report for ${name}: HTTP ${r.status}`);
        });
        await Promise.all(batch);
      }
      await passing(`${exporter.url}/api/v1/connectivity_check`, n);
      // One reading of a garbage-collected process's RSS is wherever its last GC left it: sample.
      const rss: number[] = [];
      const sampler = setInterval(() => rss.push(rssBytes(exporter.child.pid as number)), 250);
      const metrics = await timed(`${exporter.url}/metrics`, samples);
      const apiBefore = kube.requests().length;
      const check = await timed(`${exporter.url}/api/v1/connectivity_check`, samples * 5);
      const checkApiCalls = kube.requests().length - apiBefore;
      await sleep(rssTailMs);
      clearInterval(sampler);
      rows.push({
        agents: n,
        metricsMs: metrics.ms,
        metricsBytes: metrics.bytes,
        checkMs: check.ms,
        checkApiCalls,
        rssBytes: median(rss),
        rssMaxBytes: Math.max(...rss),
      });
    } finally {
      await exporter.stop();
      await kube.close();
    }
  }
  return rows;
}

/** Waits (up to 60 s) until the check passes: the informer holds all n pods and every report counts. */
async function passing(url: string, n: number): Promise<void> {
  const until = Date.now() + 60_000;
  while ((await call(url, 'GET')).status !== 200) {
    if (Date.now() > until) throw new Error(`connectivity_check did not pass with ${n} agents within 60 s`);
    await sleep(200);
  }
}
