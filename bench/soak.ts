// Soak: agents reporting at 10x the SLO rate (default 10,000 agents every 1 s) while 10% of
// them are replaced each cycle (old names stop, new names start on the same nodes, as a
// DaemonSet rollout does), with a report TTL short enough that replaced agents are pruned. The
// exporter's RSS is sampled from /proc; after the run the churn stops and the TTL passes.
// Targets: RSS slope <= 2 MB/h after the warm-up (least squares over the second half of the
// churn: the first half includes the heap settling at its working size), the series count back to
// the baseline taken before any replacement, stored records equal to the live agents, no errors.
//
//   npm run bench -- --soak [--agents 10000] [--interval 1] [--minutes 10] [--cycle 10]
//                           [--replace 0.1] [--report-ttl 5] [--keep-alive]

import http from 'node:http';
import { parseArgs } from 'node:util';
import { fmt, median, met, rssBytes } from './lib.js';
import { forkLoad, type LoadProcess } from './load-client.js';
import { errorsOf, listenOverflows, REPORT_FILE, startTimedExporter, type TimedExporter } from './slo.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface SoakOptions {
  readonly agents: number;
  readonly intervalSeconds: number;
  readonly seconds: number;
  readonly cycleSeconds: number;
  /** Share of the live agents replaced per cycle. */
  readonly replace: number;
  readonly reportTtlSeconds: number;
  readonly keepAlive: boolean;
}

export interface SoakResult extends SoakOptions {
  readonly reportsPerSecond: number;
  readonly replaced: number;
  readonly errors: number;
  readonly failures: Record<string, number>;
  /** Least-squares slope of the RSS samples taken during the churn, MB per hour. */
  readonly rssSlopeMbPerHour: number;
  /** The same over the samples of the second half of the churn, after the warm-up. */
  readonly rssSettledSlopeMbPerHour: number;
  /** Median RSS (MB) of each tenth of the churn's samples, in order: the trend a slope summarises. */
  readonly rssByTenthMb: number[];
  readonly rssStartMb: number;
  readonly rssEndMb: number;
  readonly samples: number;
  readonly seriesBaseline: number;
  readonly seriesEnd: number;
  readonly records: number;
  readonly live: number;
  /** Machine-wide listen-queue overflows during the churn. */
  readonly listenOverflows: number;
}

/** Slope of y over x by least squares. */
export function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** The samples cut into ten runs of equal length (fewer when there are fewer than ten). */
function tenths(xs: readonly number[]): number[][] {
  const k = Math.min(10, xs.length);
  return Array.from({ length: k }, (_, i) => xs.slice(Math.floor((i * xs.length) / k), Math.floor(((i + 1) * xs.length) / k)));
}

/**
 * GET with no connect timeout of its own: under full load the exporter's accept queue may be
 * long (a connection waits for SYN retransmits), and a scrape must wait its turn, not fail.
 */
function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 120_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`GET ${url}: HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within 120 s`)));
    req.on('error', reject);
  });
}

/** Sample lines of /metrics other than prom-client's process_* and nodejs_* (which move on their own). */
async function seriesCount(url: string): Promise<number> {
  const text = await get(`${url}/metrics`);
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('process_') && !l.startsWith('nodejs_')).length;
}

async function storedRecords(url: string): Promise<number> {
  return Object.keys(JSON.parse(await get(`${url}/api/v1/agents`)) as Record<string, unknown>).length;
}

/** The node is the name's last part: a replacement keeps its node. */
const agentName = (generation: number, i: number): string => `soak-agent-g${generation}-${i}`;

export async function benchSoak(o: SoakOptions): Promise<SoakResult> {
  const exporter: TimedExporter = await startTimedExporter(['--report-ttl', String(o.reportTtlSeconds)]);
  let load: LoadProcess | null = null;
  try {
    load = await forkLoad({ url: exporter.url, intervalMs: o.intervalSeconds * 1000, keepAlive: o.keepAlive, bodyFile: REPORT_FILE });
    const generation = new Array<number>(o.agents).fill(0);
    load.start(generation.map((g, i) => agentName(g, i)));
    await sleep(2 * o.intervalSeconds * 1000); // warm-up: every agent reported
    const seriesBaseline = await seriesCount(exporter.url);
    await load.reset();
    const pid = exporter.child.pid as number;
    const rss: Array<[number, number]> = [];
    const overflows = listenOverflows();
    const t0 = performance.now();
    const sampler = setInterval(
      () => rss.push([(performance.now() - t0) / 3.6e6, rssBytes(pid) / 1e6]),
      Math.min(5000, (o.cycleSeconds * 1000) / 2),
    );
    let replaced = 0;
    let next = 0;
    const perCycle = Math.max(1, Math.round(o.agents * o.replace));
    for (let c = 0; (c + 1) * o.cycleSeconds <= o.seconds; c++) {
      await sleep(o.cycleSeconds * 1000);
      const picked = Array.from({ length: perCycle }, () => next++ % o.agents);
      await load.stop(picked.map((i) => agentName(generation[i] ?? 0, i)));
      for (const i of picked) generation[i] = (generation[i] ?? 0) + 1;
      load.start(picked.map((i) => agentName(generation[i] ?? 0, i)));
      replaced += picked.length;
    }
    clearInterval(sampler);
    const elapsedS = (performance.now() - t0) / 1000;
    const overflowed = listenOverflows() - overflows;
    const s = await load.stats();
    // Replaced agents are pruned once silent for max(TTL, 3 intervals), checked on the 1 s tick.
    await sleep((Math.max(o.reportTtlSeconds, 3 * o.intervalSeconds) + o.intervalSeconds + 2) * 1000);
    const after = await load.stats();
    const halfH = elapsedS / 3600 / 2;
    return {
      ...o,
      reportsPerSecond: s.stats.ok / elapsedS,
      replaced,
      errors: errorsOf(after),
      failures: after.stats.failures,
      rssSlopeMbPerHour: slope(rss),
      rssSettledSlopeMbPerHour: slope(rss.filter(([h]) => h >= halfH)),
      rssByTenthMb: tenths(rss.map(([, mb]) => mb)).map(median),
      rssStartMb: rss[0]?.[1] ?? 0,
      rssEndMb: rss[rss.length - 1]?.[1] ?? 0,
      samples: rss.length,
      seriesBaseline,
      seriesEnd: await seriesCount(exporter.url),
      records: await storedRecords(exporter.url),
      live: after.live,
      listenOverflows: overflowed,
    };
  } finally {
    await load?.close();
    await exporter.close();
  }
}

export function soakLines(r: SoakResult): string[] {
  return [
    `${fmt(r.agents)} agents every ${r.intervalSeconds} s (${r.keepAlive ? 'keep-alive' : 'fresh connection per report'}), ${fmt(r.replace * 100)}% replaced every ${r.cycleSeconds} s (${fmt(r.replaced)} replacements), --report-ttl ${r.reportTtlSeconds}, ${fmt(r.seconds)} s: ${fmt(r.reportsPerSecond)} reports/s.`,
    '',
    '| figure | value | target |',
    '|---|---|---|',
    `| errors (lost, failed or skipped reports) | ${fmt(r.errors)}${Object.keys(r.failures).length ? ` ${JSON.stringify(r.failures)}` : ''} | 0 ${met(r.errors === 0)} |`,
    `| listen-queue overflows (kernel, machine-wide) | ${fmt(r.listenOverflows)} | |`,
    `| exporter RSS first / last sample, MB | ${fmt(r.rssStartMb)} / ${fmt(r.rssEndMb)} | |`,
    `| RSS slope over ${r.samples} samples during the churn, MB/h | ${fmt(r.rssSlopeMbPerHour, 1)} | |`,
    `| RSS slope over the second half (after the warm-up), MB/h | ${fmt(r.rssSettledSlopeMbPerHour, 1)} | <= 2 ${met(r.rssSettledSlopeMbPerHour <= 2)} |`,
    `| RSS median of each tenth of the churn, MB | ${r.rssByTenthMb.map((mb) => fmt(mb)).join(', ')} | |`,
    `| series (without process_/nodejs_) baseline / after the TTL | ${fmt(r.seriesBaseline)} / ${fmt(r.seriesEnd)} | equal ${met(r.seriesBaseline === r.seriesEnd)} |`,
    `| stored records / live agents after the TTL | ${fmt(r.records)} / ${fmt(r.live)} | equal ${met(r.records === r.live)} |`,
  ];
}

export async function runSoak(argv: string[], quick: boolean): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: false,
    options: {
      agents: { type: 'string' },
      interval: { type: 'string' },
      minutes: { type: 'string' },
      seconds: { type: 'string' },
      cycle: { type: 'string' },
      replace: { type: 'string' },
      'report-ttl': { type: 'string' },
      'keep-alive': { type: 'boolean' },
    },
  });
  const num = (v: unknown, d: number): number => (typeof v === 'string' && Number(v) > 0 ? Number(v) : d);
  const o: SoakOptions = {
    agents: num(values.agents, quick ? 300 : 10_000),
    intervalSeconds: num(values.interval, 1),
    seconds: values.seconds ? num(values.seconds, 8) : num(values.minutes, quick ? 8 / 60 : 10) * 60,
    cycleSeconds: num(values.cycle, quick ? 2 : 10),
    replace: num(values.replace, 0.1),
    reportTtlSeconds: num(values['report-ttl'], quick ? 2 : 5),
    keepAlive: values['keep-alive'] === true,
  };
  const r = await benchSoak(o);
  process.stdout.write(`## Soak\n\n${soakLines(r).join('\n')}\n\nRESULT ${JSON.stringify(r)}\n`);
  return 0;
}
