// The Kubernetes store at 10,000 agents reporting every 15 s, against the memory store in the same
// run: API writes/s counted at the fake Kubernetes API, exporter RSS (median over the window), and
// ingest reports/s with wrk (keep-alive, the same rotating agent names, runs interleaved, medians).
// Both exporters get the same feed at the same time, and both run as deploy/ runs them:
// --discovery kubernetes against the fake API with every agent's pod (so both load the Kubernetes
// client, and the difference is the store's). The fake API runs in a process of its own
// (fake-kube-process.ts): an API server's CPU is not the exporter's.
//
//   npm run build && npm run build:tools && node dist/bench/main.js --kube-store [--quick]

import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, median, met, rssBytes, run, type Server, startExporter, wrkRate } from './lib.js';

const FIXTURE = fileURLToPath(new URL('../../test/fixtures/original-agent/report-pod.json', import.meta.url));

export interface KubeStorePlan {
  readonly agents: number;
  readonly intervalSeconds: number;
  /** Feed before measuring: every agent has reported and every shard was created. */
  readonly warmSeconds: number;
  readonly windowSeconds: number;
  readonly wrkSeconds: number;
  readonly wrkRuns: number;
}

export interface KubeStoreResult {
  readonly plan: KubeStorePlan;
  readonly writesPerSecond: number;
  readonly budget: number;
  readonly largestObjectBytes: number;
  readonly rssMb: { memory: number; kubernetes: number };
  readonly ingest: { memory: number; kubernetes: number };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The fake API's process: one question, one answer at a time. */
function ask<T>(child: ChildProcess, question: object): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as T));
    child.send(question);
  });
}

/** Posts every agent's report once per interval to each exporter, spread evenly, until stopped. */
function feed(
  urls: readonly string[],
  agents: number,
  intervalSeconds: number,
  body: string,
): { stop: () => Promise<void>; failed: () => number } {
  let stopped = false;
  let failed = 0;
  const tickMs = 50;
  const perTick = Math.max(1, Math.round((agents * tickMs) / (intervalSeconds * 1000)));
  const loop = (async () => {
    let next = 0;
    while (!stopped) {
      const started = performance.now();
      const batch: Promise<void>[] = [];
      for (let k = 0; k < perTick; k++, next = (next + 1) % agents) {
        for (const url of urls) {
          batch.push(
            fetch(`${url}/api/v1/agents/bench-agent-${next}`, {
              method: 'POST',
              body,
              headers: { 'Content-Type': 'application/json' },
            }).then(
              async (r) => {
                await r.arrayBuffer();
                if (r.status !== 200) failed++;
              },
              () => void failed++,
            ),
          );
        }
      }
      await Promise.all(batch);
      await sleep(Math.max(0, tickMs - (performance.now() - started)));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
    failed: () => failed,
  };
}

function wrkScript(dir: string, agents: number, body: string): string {
  const path = join(dir, 'post.lua');
  writeFileSync(
    path,
    `local body = ${JSON.stringify(body)}
local headers = { ["Content-Type"] = "application/json" }
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/api/v1/agents/bench-agent-" .. (n % ${agents}), headers, body)
end
`,
  );
  return path;
}

export async function benchKubeStore(plan: KubeStorePlan): Promise<KubeStoreResult> {
  const dir = mkdtempSync(join(tmpdir(), 'netchecker-bench-kube-'));
  const api = fork(fileURLToPath(new URL('./fake-kube-process.js', import.meta.url)), { stdio: 'ignore' });
  const servers: Server[] = [];
  const budget = 10;
  const body = readFileSync(FIXTURE, 'utf8').replace(/"report_interval":\s*\d+/, `"report_interval": ${plan.intervalSeconds}`);
  try {
    const { kubeconfig } = await ask<{ kubeconfig: string }>(api, { agents: plan.agents });
    const discovery = ['--discovery', 'kubernetes', '--kubeconfig', kubeconfig];
    const memory = await startExporter(discovery);
    servers.push(memory);
    const kubernetes = await startExporter([
      ...discovery,
      '--store',
      'kubernetes',
      '--kubernetes-store-namespace',
      'bench',
      '--kubernetes-store-writes',
      String(budget),
    ]);
    servers.push(kubernetes);
    const f = feed([memory.url, kubernetes.url], plan.agents, plan.intervalSeconds, body);
    await sleep(plan.warmSeconds * 1000);
    const before = (await ask<{ writes: number }>(api, { count: true })).writes;
    const started = performance.now();
    const rss = { memory: [] as number[], kubernetes: [] as number[] };
    const sampler = setInterval(() => {
      rss.memory.push(rssBytes(memory.child.pid as number));
      rss.kubernetes.push(rssBytes(kubernetes.child.pid as number));
    }, 250);
    await sleep(plan.windowSeconds * 1000);
    clearInterval(sampler);
    const after = (await ask<{ writes: number }>(api, { count: true })).writes;
    const writesPerSecond = (after - before) / ((performance.now() - started) / 1000);
    await f.stop();
    if (f.failed() > 0) throw new Error(`${f.failed()} reports of the feed were not answered 200`);
    const lua = wrkScript(dir, plan.agents, body);
    const load = async (s: Server): Promise<number> =>
      wrkRate(await run('wrk', ['-t', '1', '-c', '32', '-d', `${plan.wrkSeconds}s`, '-s', lua, s.url]));
    const rates = { memory: [] as number[], kubernetes: [] as number[] };
    for (let i = 0; i < plan.wrkRuns; i++) {
      rates.memory.push(await load(memory));
      rates.kubernetes.push(await load(kubernetes));
    }
    const largestObjectBytes = (await ask<{ largest: number }>(api, { count: true })).largest;
    const mb = (xs: number[]): number => median(xs) / 1024 / 1024;
    return {
      plan,
      writesPerSecond,
      budget,
      largestObjectBytes,
      rssMb: { memory: mb(rss.memory), kubernetes: mb(rss.kubernetes) },
      ingest: { memory: median(rates.memory), kubernetes: median(rates.kubernetes) },
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    api.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function kubeStoreLines(r: KubeStoreResult): string[] {
  const { plan } = r;
  const rss = r.rssMb.kubernetes / r.rssMb.memory;
  const ingest = r.ingest.kubernetes / r.ingest.memory;
  return [
    `${fmt(plan.agents)} agents reporting every ${plan.intervalSeconds} s to both exporters at once (original agent's report), measured over ${plan.windowSeconds} s after ${plan.warmSeconds} s; ingest: wrk, keep-alive, 32 connections, ${plan.wrkSeconds} s x ${plan.wrkRuns} runs interleaved, medians.`,
    '',
    '| figure | memory store | kubernetes store | kubernetes / memory | target |',
    '|---|---|---|---|---|',
    `| API writes/s (counted at the fake API) | 0 | ${fmt(r.writesPerSecond, 2)} | | <= ${r.budget} ${met(r.writesPerSecond <= r.budget)} |`,
    `| exporter RSS, MB (median) | ${fmt(r.rssMb.memory)} | ${fmt(r.rssMb.kubernetes)} | ${fmt(rss, 2)} | <= 1.2 ${met(rss <= 1.2)} |`,
    `| ingest, reports/s | ${fmt(r.ingest.memory)} | ${fmt(r.ingest.kubernetes)} | ${fmt(ingest, 2)} | >= 0.9 ${met(ingest >= 0.9)} |`,
    '',
    `Largest AgentShard object: ${fmt(r.largestObjectBytes / 1024, 1)} KB (32 shards).`,
  ];
}

export async function runKubeStoreBench(quick: boolean): Promise<number> {
  const plan: KubeStorePlan = quick
    ? { agents: 500, intervalSeconds: 2, warmSeconds: 2, windowSeconds: 3, wrkSeconds: 1, wrkRuns: 1 }
    : { agents: 10_000, intervalSeconds: 15, warmSeconds: 20, windowSeconds: 45, wrkSeconds: 8, wrkRuns: 3 };
  const r = await benchKubeStore(plan);
  process.stdout.write(
    `## Kubernetes store at ${fmt(plan.agents)} agents\n\n${kubeStoreLines(r).join('\n')}\n\nRESULT ${JSON.stringify(r)}\n`,
  );
  return 0;
}
