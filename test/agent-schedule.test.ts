import t from 'tap';
import { parseAgentConfig } from '../agent/config.js';
import { nextSlot, runSchedule } from '../agent/loop.js';
import { runAgent } from '../agent/main.js';
import { createLogger } from '../lib/log.js';
import { decodeReport } from '../report/decode.js';
import { startFakeExporter } from './helpers/agent-server.js';

t.test('nextSlot: the next slot not in the past, never the same one twice', async (t) => {
  // [start, interval, done, now, want]
  const table: Array<[number, number, number, number, number]> = [
    [0, 1000, 0, 5, 1], // on time: the following slot
    [0, 1000, 0, 999, 1],
    [0, 1000, 0, 1000, 1], // finished exactly at the next slot: run it now
    [0, 1000, 0, 1001, 2], // overran slot 1: skip it
    [0, 1000, 0, 3500, 4], // overran several
    [0, 1000, 4, 4002, 5],
    [0, 1000, 5, 4999, 6], // a timer firing early never repeats a slot
    [500, 60_000, 2, 120_600, 3],
    [500, 60_000, 2, 180_501, 4],
  ];
  for (const [start, interval, done, now, want] of table) t.equal(nextSlot(start, interval, done, now), want, `${done}@${now}`);
});

t.test('runSchedule with a fake clock: slots from the start, overruns skip, abort finishes the round', async (t) => {
  let clock = 0;
  const seen: Array<[number, number, number]> = [];
  const stop = new AbortController();
  await runSchedule(
    10,
    stop.signal,
    async ({ index, deadlineMs }) => {
      clock = Math.max(clock, index * 10); // the real sleep does not move the fake clock
      seen.push([index, clock, deadlineMs]);
      clock += index === 1 ? 25 : 1; // round 1 overruns slots 2 and 3
      if (index === 5) stop.abort();
    },
    () => clock,
  );
  t.same(
    seen.map(([i]) => i),
    [0, 1, 4, 5],
  );
  t.same(
    seen.map(([, , d]) => d),
    [10, 20, 50, 60],
  );
});

// Real time on a machine that may be busy: each report must land in its own slot (within half an
// interval of it), which a drifting schedule (sleeping an interval after each round) leaves after
// a few rounds and a doubled or skipped slot breaks at once. The exact fixed-rate arithmetic is
// the fake-clock test above; 2 s slots leave 1 s for a round that a loaded machine delays.
t.test('the real agent at --interval 2: first report at once, then one per slot without drift', async (t) => {
  const fake = await startFakeExporter();
  t.teardown(() => fake.close());
  const intervalMs = 2000;
  const parsed = parseAgentConfig(
    ['--server', fake.url, '--interval', String(intervalMs / 1000), '--name', 'agent-a', '--node', 'node-1', '-zeroextenderlength', '10'],
    {},
  );
  if (!parsed.ok || parsed.help) throw new Error('config');
  const stop = new AbortController();
  const want = 12;
  const lines: string[] = [];
  const startMs = performance.now();
  const done = runAgent(parsed.config, { signal: stop.signal, log: createLogger('info', {}, (l) => lines.push(l)) });
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (fake.reports.length >= want) {
        clearInterval(poll);
        resolve();
      }
    }, 20);
  });
  stop.abort();
  await done;

  const first = fake.reports[0]?.atMs ?? Infinity;
  t.ok(first - startMs < intervalMs, `first report within one interval of start (${Math.round(first - startMs)} ms)`);
  // The schedule's origin: the earliest report relative to its slot (the first round, which
  // loads and compiles the probes, is often the slowest).
  const reports = fake.reports.slice(0, want);
  const origin = Math.min(...reports.map((r, k) => r.atMs - k * intervalMs));
  reports.forEach((r, k) => {
    const late = r.atMs - origin - k * intervalMs;
    t.ok(late < intervalMs / 2, `report ${k} in slot ${k} (${Math.round(late)} ms after the earliest slot-relative report)`);
  });
  t.comment(`drift over ${want - 1} intervals: ${Math.round((reports.at(-1)?.atMs ?? 0) - first - (want - 1) * intervalMs)} ms`);

  for (const r of fake.reports) {
    t.equal(r.path, '/api/v1/agents/agent-a');
    const d = decodeReport(r.body);
    if (!d.ok) t.fail(`${d.code}: ${d.detail}`);
    else {
      t.equal(d.value.podName, 'agent-a');
      t.equal(d.value.intervalSeconds, intervalMs / 1000);
      t.equal(d.value.probes?.at(-1)?.url, `${fake.url}/api/v1/ping`);
      t.equal(d.value.probes?.at(-1)?.result, 'ok');
    }
  }
  const msgs = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
  t.same(msgs, ['agent started', 'reports delivered', 'agent stopped'], 'info logs only on changes, not per report');
});
