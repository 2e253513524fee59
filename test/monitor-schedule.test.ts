// The verdict's schedule (exporter/monitor.ts) and its pure tracker (verdict/tracker.ts): reads
// recompute nothing, a burst of reports shares recomputations, a report is seen by the next read
// at small scale, misses are counted once however often the verdict is recomputed.
import t from 'tap';
import { AgentTracker, pruneDue } from '../exporter/verdict/tracker.js';
import type { AgentVerdict, Verdict } from '../exporter/verdict/verdict.js';
import type { AgentRecord } from '../exporter/store/store.js';
import { postReport, report, sample, startTestExporter } from './helpers/exporter.js';

const recomputations = async (url: string): Promise<number> =>
  sample(await (await fetch(`${url}/metrics`)).text(), 'netchecker_verdict_compute_seconds_count') ?? NaN;

t.test('reads recompute nothing: 200 reads in a row cost at most the ticks that passed', async (t) => {
  const ex = await startTestExporter(t, ['--expect', 'agent-a']);
  t.equal((await postReport(ex.url, 'agent-a', report())).status, 200);
  const check = await fetch(`${ex.url}/api/v1/connectivity_check`);
  t.equal(check.status, 200, 'the report is in the next read');
  const before = await recomputations(ex.url);
  const started = performance.now();
  for (let i = 0; i < 200; i++) {
    const paths = ['/api/v1/connectivity_check', '/api/v1/status', '/api/v1/peers/agent-a', '/api/v1/agents/agent-a', '/metrics'];
    await (await fetch(`${ex.url}${paths[i % paths.length]}`)).arrayBuffer();
  }
  const ticks = Math.floor((performance.now() - started) / 1000) + 1;
  const made = (await recomputations(ex.url)) - before;
  t.ok(made <= ticks, `${made} recomputations in ${ticks} tick(s)`);
});

t.test('a burst of reports shares recomputations, and the last one is in the next read', async (t) => {
  const names = Array.from({ length: 2000 }, (_, i) => `agent-${i}`);
  const ex = await startTestExporter(t, ['--expect', names.join(','), '--log-level', 'warn']);
  const before = await recomputations(ex.url);
  for (let i = 0; i < names.length; i += 100) {
    const batch = names.slice(i, i + 100);
    const answers = await Promise.all(batch.map((n) => postReport(ex.url, n, report({ podname: n, report_interval: 300 }))));
    t.ok(
      answers.every((a) => a.status === 200),
      `reports ${i}..${i + 99} stored`,
    );
  }
  const made = (await recomputations(ex.url)) - before;
  t.ok(made < names.length / 4, `${names.length} reports, ${made} recomputations`);
  await ex.monitor.fresh(Infinity);
  const res = await fetch(`${ex.url}/api/v1/connectivity_check`);
  t.equal(res.status, 200, 'every agent in the verdict');
  t.match(await res.json(), { Message: `All ${names.length} pods successfully reported back to the server` });
});

const verdictOf = (agents: Array<Partial<AgentVerdict> & { name: string }>): Verdict => ({
  agents: agents.map((a) => ({
    node: 'n1',
    network: 'pod',
    state: 'ok',
    reason: '',
    expected: true,
    lastReportAgeSeconds: 1,
    intervalSeconds: 10,
    missedInGap: 0,
    ...a,
  })),
  absent: [],
  outdated: [],
  pass: true,
  okCount: agents.length,
  families: null,
});

t.test('the tracker counts a miss once however often the verdict is recomputed', async (t) => {
  const tracker = new AgentTracker();
  tracker.reported('a');
  t.same(tracker.observe(verdictOf([{ name: 'a' }])), { changes: [], gone: [] });
  const silent = verdictOf([{ name: 'a', state: 'outdated', missedInGap: 1 }]);
  const { changes } = tracker.observe(silent);
  t.same(
    changes.map((c) => `${c.before.state}->${c.now.state}`),
    ['ok->outdated'],
  );
  tracker.observe(silent);
  tracker.observe(silent);
  t.same(tracker.counts('a'), { reports: 1, missed: 1 }, 'three recomputations, one missed interval');
  tracker.observe(verdictOf([{ name: 'a', state: 'outdated', missedInGap: 3 }]));
  t.same(tracker.counts('a'), { reports: 1, missed: 3 }, 'two more intervals');
  tracker.reported('a');
  tracker.observe(verdictOf([{ name: 'a' }]));
  tracker.observe(verdictOf([{ name: 'a', state: 'outdated', missedInGap: 1 }]));
  t.same(tracker.counts('a'), { reports: 2, missed: 4 }, 'a new silence counts from one again');
  t.same(tracker.observe(verdictOf([])).gone, ['a'], 'an agent no longer in the verdict is gone');
  t.same(tracker.counts('a'), { reports: 0, missed: 0 }, 'and forgotten');
});

t.test('prune: not expected and silent for the TTL and three intervals', async (t) => {
  const rec = (name: string, silentS: number, intervalSeconds = 10): AgentRecord =>
    ({ name, receivedMonoMs: 1_000_000 - silentS * 1000, report: { intervalSeconds } }) as unknown as AgentRecord;
  const records = [rec('fresh', 5), rec('old', 301), rec('expected-old', 301), rec('slow-interval', 301, 120)];
  t.same(pruneDue(records, new Map([['expected-old', {} as never]]), 1_000_000, 300), ['old']);
  t.same(pruneDue(records, null, 1_000_000, 300), ['old', 'expected-old'], 'no expected set: silence alone');
});
