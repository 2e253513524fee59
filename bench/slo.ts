// Ingest SLO: N simulated agents (default 10,000) each POST the original agent's report every
// interval (default 10 s, so 1,000 reports/s) over a fresh connection, as the agents do, for a
// duration (default 10 minutes) after a warm-up of one interval. Targets: server-side p99 <= 50 ms,
// no errors, event-loop delay p99 <= 20 ms.
//
//   npm run bench -- --slo [--agents 10000] [--interval 10] [--minutes 10]
//
// The load comes from a Node process of its own (load-worker.ts): wrk cannot give each agent its
// own schedule. Server-side figures come from server-timing.ts, preloaded into the exporter; the
// generator's client-side p99 is printed too (it adds the connection setup and its own queueing).

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LatencyHistogram } from './histogram.js';
import { CLI, cpuSeconds, EXPORTER_NODE_FLAGS, fmt, median, met, rssBytes, type Server, startServer } from './lib.js';
import { forkLoad, type LoadProcess } from './load-client.js';
import type { WorkerStats } from './load-worker.js';
import type { TimingSnapshot } from './server-timing.js';

export const REPORT_FILE = fileURLToPath(new URL('../../test/fixtures/original-agent/report-pod.json', import.meta.url));
const TIMING = new URL('./server-timing.js', import.meta.url).href;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface TimedExporter extends Server {
  /** The server-side figures since the previous call (the first call ends the warm-up). */
  timing(): Promise<TimingSnapshot>;
  close(): Promise<void>;
}

/** An exporter process with server-timing.ts preloaded. */
export async function startTimedExporter(flags: string[]): Promise<TimedExporter> {
  const dir = mkdtempSync(join(tmpdir(), 'netchecker-slo-'));
  const file = join(dir, 'timing.json');
  process.env.NETCHECKER_BENCH_TIMING = file; // inherited by the exporter process only
  const server = await startServer([
    ...EXPORTER_NODE_FLAGS,
    '--import',
    TIMING,
    CLI,
    'exporter',
    '--listen',
    '127.0.0.1:0',
    '--shutdown-delay',
    '0',
    ...flags,
  ]);
  delete process.env.NETCHECKER_BENCH_TIMING;
  return {
    ...server,
    async timing() {
      rmSync(file, { force: true });
      server.child.kill('SIGUSR2');
      for (let i = 0; i < 100 && !existsSync(file); i++) await sleep(50);
      await sleep(50); // the write is synchronous, but may have just begun
      return JSON.parse(readFileSync(file, 'utf8')) as TimingSnapshot;
    },
    async close() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The kernel's count of connections dropped because a listen queue was full (TcpExt
 * ListenOverflows, machine-wide): a fresh-connection client then waits for SYN retransmits
 * (1 s, 3 s, 7 s), which the exporter never sees as request time.
 */
export function listenOverflows(): number {
  const lines = readFileSync('/proc/net/netstat', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('TcpExt:'));
  const [names, values] = lines.map((l) => l.split(/\s+/));
  const i = names?.indexOf('ListenOverflows') ?? -1;
  return i > 0 ? Number(values?.[i]) : NaN;
}

/** Reports that failed: lost plus attempts answered with anything but 200. */
export function errorsOf(s: WorkerStats): number {
  return s.stats.lost + s.stats.overruns;
}

export interface SloOptions {
  readonly agents: number;
  readonly intervalSeconds: number;
  readonly seconds: number;
}

export interface SloResult extends SloOptions {
  readonly reportsPerSecond: number;
  readonly ok: number;
  readonly errors: number;
  readonly failures: Record<string, number>;
  readonly serverP50Ms: number;
  readonly serverP99Ms: number;
  readonly serverMaxMs: number;
  readonly clientP99Ms: number;
  readonly eventLoopP99Ms: number;
  readonly eventLoopMaxMs: number;
  /** The generator's own CPU (% of one core) and event-loop delay p99: did it keep up? */
  readonly generatorCpuPercent: number;
  readonly generatorLoopP99Ms: number;
  /** Machine-wide listen-queue overflows during the run. */
  readonly listenOverflows: number;
  /** The exporter's CPU (% of one core) and RSS sampled every second: median and maximum. */
  readonly exporterCpuPercent: number;
  readonly exporterRssMedianBytes: number;
  readonly exporterRssMaxBytes: number;
}

export async function benchSlo(o: SloOptions): Promise<SloResult> {
  const exporter = await startTimedExporter([]);
  let load: LoadProcess | null = null;
  try {
    load = await forkLoad({ url: exporter.url, intervalMs: o.intervalSeconds * 1000, keepAlive: false, bodyFile: REPORT_FILE });
    load.start(Array.from({ length: o.agents }, (_, i) => `netchecker-agent-${i}`));
    await sleep(o.intervalSeconds * 1000); // warm-up: every agent reported once
    await exporter.timing();
    await load.reset();
    const overflows = listenOverflows();
    const pid = exporter.child.pid as number;
    const cpu0 = cpuSeconds(pid);
    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(rssBytes(pid)), 1000);
    const t0 = performance.now();
    await sleep(o.seconds * 1000);
    clearInterval(sampler);
    const cpu = cpuSeconds(pid) - cpu0;
    const server = await exporter.timing();
    const client = await load.stats();
    const elapsedS = (performance.now() - t0) / 1000;
    const requests = LatencyHistogram.from(server.requests);
    return {
      ...o,
      reportsPerSecond: client.stats.ok / elapsedS,
      ok: client.stats.ok,
      errors: errorsOf(client),
      failures: client.stats.failures,
      serverP50Ms: requests.quantileMs(0.5),
      serverP99Ms: requests.quantileMs(0.99),
      serverMaxMs: server.requests.maxMs,
      clientP99Ms: LatencyHistogram.from(client.latency).quantileMs(0.99),
      eventLoopP99Ms: server.eventLoop.p99Ms,
      eventLoopMaxMs: server.eventLoop.maxMs,
      generatorCpuPercent: (100 * client.self.cpuSeconds) / elapsedS,
      generatorLoopP99Ms: client.self.loopDelayP99Ms,
      listenOverflows: listenOverflows() - overflows,
      exporterCpuPercent: (100 * cpu) / elapsedS,
      exporterRssMedianBytes: median(rss),
      exporterRssMaxBytes: Math.max(...rss),
    };
  } finally {
    await load?.close();
    await exporter.close();
  }
}

export function sloLines(r: SloResult): string[] {
  return [
    `${fmt(r.agents)} agents every ${r.intervalSeconds} s, fresh connection per report, original agent's report, memory store, ${fmt(r.seconds)} s after a one-interval warm-up: ${fmt(r.reportsPerSecond)} reports/s answered of ${fmt(r.agents / r.intervalSeconds)} scheduled.`,
    '',
    '| figure | value | target |',
    '|---|---|---|',
    `| reports answered 200 | ${fmt(r.ok)} | |`,
    `| errors (lost, failed or skipped reports) | ${fmt(r.errors)}${Object.keys(r.failures).length ? ` ${JSON.stringify(r.failures)}` : ''} | 0 ${met(r.errors === 0)} |`,
    `| server-side p50 / p99 / max, ms | ${fmt(r.serverP50Ms, 2)} / ${fmt(r.serverP99Ms, 2)} / ${fmt(r.serverMaxMs, 1)} | p99 <= 50 ${met(r.serverP99Ms <= 50)} |`,
    `| client-side p99 (generator), ms | ${fmt(r.clientP99Ms, 2)} | |`,
    `| event-loop delay p99 / max, ms | ${fmt(r.eventLoopP99Ms, 2)} / ${fmt(r.eventLoopMaxMs, 1)} | p99 <= 20 ${met(r.eventLoopP99Ms <= 20)} |`,
    `| load generator: CPU % of a core, event-loop delay p99 ms | ${fmt(r.generatorCpuPercent)} / ${fmt(r.generatorLoopP99Ms, 1)} | |`,
    `| listen-queue overflows (kernel, machine-wide) | ${fmt(r.listenOverflows)} | |`,
    `| exporter: CPU % of a core; RSS median / max, MB | ${fmt(r.exporterCpuPercent)}; ${fmt(r.exporterRssMedianBytes / 1e6)} / ${fmt(r.exporterRssMaxBytes / 1e6)} | |`,
  ];
}

export const SLO_HEADING = '## Ingest SLO and soak';

/** The SLO and soak section of docs/performance.md, from its heading on: a full `npm run bench` keeps it as it is. */
export function keptSloSection(doc: string): string[] {
  const text = existsSync(doc) ? readFileSync(doc, 'utf8') : '';
  const at = text.indexOf(`\n${SLO_HEADING}\n`);
  return at < 0 ? [] : [text.slice(at + 1).trimEnd(), ''];
}

export async function runSlo(argv: string[], quick: boolean): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: false,
    options: { agents: { type: 'string' }, interval: { type: 'string' }, minutes: { type: 'string' }, seconds: { type: 'string' } },
  });
  const num = (v: unknown, d: number): number => (typeof v === 'string' && Number(v) > 0 ? Number(v) : d);
  const o: SloOptions = {
    agents: num(values.agents, quick ? 300 : 10_000),
    intervalSeconds: num(values.interval, quick ? 1 : 10),
    seconds: values.seconds ? num(values.seconds, 5) : num(values.minutes, quick ? 5 / 60 : 10) * 60,
  };
  const r = await benchSlo(o);
  process.stdout.write(`## Ingest SLO\n\n${sloLines(r).join('\n')}\n\nRESULT ${JSON.stringify(r)}\n`);
  return 0;
}
