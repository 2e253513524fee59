// The load generator as a process of its own (child_process.fork), so its CPU is not the
// harness's: simulated agents (load.ts) driven over IPC. argv[2] is the LoadWorkerConfig as JSON.
// Messages in: start/stop (agent names), reset (zero the figures), stats, close. Out: the figures.

import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { HistogramSnapshot } from './histogram.js';
import { AgentLoad, type LoadStats } from './load.js';

export interface LoadWorkerConfig {
  readonly url: string;
  readonly intervalMs: number;
  readonly keepAlive: boolean;
  /** A report body file (JSON); podname, nodename and hostdate are set per report. */
  readonly bodyFile: string;
}

export type ToWorker =
  { type: 'start'; names: string[] } | { type: 'stop'; names: string[] } | { type: 'reset' } | { type: 'stats' } | { type: 'close' };
export interface WorkerStats {
  type: 'stats';
  stats: LoadStats;
  latency: HistogramSnapshot;
  live: number;
  /** The generator's own health since the last reset: CPU seconds, event-loop delay p99 (ms). */
  self: { cpuSeconds: number; loopDelayP99Ms: number };
}

const config = JSON.parse(process.argv[2] ?? '{}') as LoadWorkerConfig;
const { podname: _p, nodename: _n, hostdate: _h, ...base } = JSON.parse(readFileSync(config.bodyFile, 'utf8')) as Record<string, unknown>;
// The body as a template (these three keys last, in this order), so a report costs a join, not a JSON.stringify of 10 KB.
const [p0, p1, p2, p3] = JSON.stringify({
  ...base,
  report_interval: config.intervalMs / 1000,
  podname: '\u0000',
  nodename: 'node-\u0000',
  hostdate: '\u0000',
}).split('\\u0000');
const load = make();
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
let cpu = process.cpuUsage();

function make(): AgentLoad {
  return new AgentLoad({
    url: config.url,
    intervalMs: config.intervalMs,
    keepAlive: config.keepAlive,
    retry: false,
    timeoutMs: 10_000,
    // The node is the name's last part: a replaced agent keeps its node, as a DaemonSet pod does.
    body: (name) => `${p0}${name}${p1}${name.slice(name.lastIndexOf('-') + 1)}${p2}${new Date().toISOString()}${p3}`,
  });
}

process.on('message', (m: ToWorker) => {
  const send = (): void => {
    const used = process.cpuUsage(cpu);
    const self = { cpuSeconds: (used.user + used.system) / 1e6, loopDelayP99Ms: Math.max(0, loop.percentile(99) / 1e6 - 10) };
    process.send?.({
      type: 'stats',
      stats: load.stats,
      latency: load.latency.snapshot(),
      live: load.names().length,
      self,
    } satisfies WorkerStats);
  };
  if (m.type === 'start') for (const n of m.names) load.start(n);
  else if (m.type === 'stop') void Promise.all(m.names.map((n) => load.stop(n))).then(send);
  else if (m.type === 'reset') {
    Object.assign(load.stats, { ok: 0, lost: 0, failures: {}, overruns: 0 });
    load.latency.reset();
    loop.reset();
    cpu = process.cpuUsage();
    send();
  } else if (m.type === 'stats') send();
  else if (m.type === 'close') void load.close().then(() => process.exit(0));
});
// The harness is gone (killed, crashed): stop, rather than load the machine for nobody.
process.once('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' });
