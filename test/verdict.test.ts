// The verdict as a pure function: a table of (expected, reports, now) -> states.
import t from 'tap';
import type { Report } from '../report/schema.js';
import type { ExpectedAgent } from '../exporter/discovery/discovery.js';
import { computeVerdict, FAILING, STATES, type State } from '../exporter/verdict/verdict.js';

const report = (intervalSeconds: number, nodeName = 'n1'): Report => ({
  intervalSeconds,
  nodeName,
  podName: '',
  hostDate: null,
  hostDateMs: null,
  uptimeSeconds: null,
  nslookup: null,
  ips: null,
  probes: null,
  network: null,
  agentVersion: null,
  agentStartedMs: null,
});
const rec = (name: string, interval: number, receivedMonoMs: number) => ({
  name,
  report: report(interval),
  receivedMonoMs,
  receivedWallMs: 0,
});
const expect = (...names: string[]): Map<string, ExpectedAgent> => new Map(names.map((name) => [name, { name }]));
const base = { startedMonoMs: 0, startupGraceMs: 60_000 };

t.test('outdated is strictly more than 2 x interval', async (t) => {
  const table: Array<[number, string, number]> = [
    [0, 'ok', 0],
    [29_999, 'ok', 0],
    [30_000, 'ok', 0], // exactly 2 x 15 s: not yet
    [30_001, 'outdated', 1],
    [45_000, 'outdated', 1],
    [45_001, 'outdated', 2],
    [150_000, 'outdated', 8],
  ];
  for (const [age, state, missed] of table) {
    const v = computeVerdict({ ...base, expected: null, records: [rec('a', 15, 100_000)], nowMonoMs: 100_000 + age });
    t.equal(v.agents[0]?.state, state, `age ${age} ms`);
    t.equal(v.agents[0]?.missedInGap, missed, `missed at age ${age} ms`);
    t.equal(v.pass, state === 'ok');
    t.same(v.outdated, state === 'ok' ? [] : ['a']);
  }
});

t.test('expected agents that never reported: starting within the grace, then absent; both fail the check', async (t) => {
  const during = computeVerdict({ ...base, expected: expect('a', 'b'), records: [rec('a', 15, 50_000)], nowMonoMs: 59_999 });
  t.same(
    during.agents.map((a) => [a.name, a.state]),
    [
      ['a', 'ok'],
      ['b', 'starting'],
    ],
  );
  t.same([during.pass, during.absent, during.okCount], [false, ['b'], 1], 'no evidence yet: the check fails');
  const excusing = computeVerdict({
    ...base,
    expected: expect('a', 'b'),
    records: [rec('a', 15, 50_000)],
    nowMonoMs: 59_999,
    failing: new Set(['absent', 'outdated'] as const),
  });
  t.same([excusing.pass, excusing.okCount], [true, 1], '--failing-states absent,outdated excuses it; the count stays true');
  const after = computeVerdict({ ...base, expected: expect('a', 'b'), records: [rec('a', 15, 50_000)], nowMonoMs: 60_000 });
  t.same(
    after.agents.map((a) => [a.name, a.state]),
    [
      ['a', 'ok'],
      ['b', 'absent'],
    ],
  );
  t.same([after.pass, after.absent, after.outdated], [false, ['b'], []]);
});

t.test('reporting agents outside the expected set are shown but never fail the check', async (t) => {
  const v = computeVerdict({ ...base, expected: expect('a'), records: [rec('a', 15, 0), rec('stray', 15, 0)], nowMonoMs: 100_000 });
  // A silent agent the expected set no longer lists (a pod replaced in a rollout) is gone, churn
  // until pruned: never `outdated`, which alerts take for a node cut off.
  t.same(
    v.agents.map((a) => [a.name, a.state, a.expected]),
    [
      ['a', 'outdated', true],
      ['stray', 'terminating', false],
    ],
  );
  t.match(v.agents[1]?.reason, /no longer expected \(its pod is gone\)/);
  t.same(v.outdated, ['a']);
  const fresh = computeVerdict({
    ...base,
    expected: expect('a'),
    records: [rec('a', 15, 99_000), rec('stray', 15, 99_000)],
    nowMonoMs: 100_000,
  });
  t.same([fresh.pass, fresh.okCount], [true, 1], 'the compat count is of expected agents only');
});

t.test('without an expected set, the reporting agents are the set', async (t) => {
  const v = computeVerdict({ ...base, expected: null, records: [rec('b', 5, 0), rec('a', 5, 9_000)], nowMonoMs: 10_001 });
  t.same(
    v.agents.map((a) => [a.name, a.state]),
    [
      ['a', 'ok'],
      ['b', 'outdated'],
    ],
  );
  t.equal(v.okCount, 1);
});

t.test('network from the name rule; node from the report', async (t) => {
  const v = computeVerdict({ ...base, expected: null, records: [rec('netchecker-agent-hostnet-x', 5, 0)], nowMonoMs: 0 });
  t.same([v.agents[0]?.network, v.agents[0]?.node], ['host', 'n1']);
});

t.test('churn explains silence; a fresh report wins over churn; only terminating is excused by default', async (t) => {
  const cordoned = { reason: 'node_cordoned', detail: 'node n1 is cordoned (unschedulable)' } as const;
  const expected = new Map<string, ExpectedAgent>([
    ['fresh', { name: 'fresh', node: 'n1', churn: cordoned }],
    ['late', { name: 'late', node: 'n1', churn: { reason: 'node_not_ready', detail: 'node n1 is not Ready: Ready=False' } }],
    ['never', { name: 'never', node: 'n2', churn: { reason: 'terminating', detail: 'pod is being deleted' } }],
  ]);
  const input = { ...base, expected, records: [rec('fresh', 15, 99_000), rec('late', 15, 0)], nowMonoMs: 100_000 };
  const v = computeVerdict(input);
  t.same(
    v.agents.map((a) => [a.name, a.state]),
    [
      ['fresh', 'ok'],
      ['late', 'node_not_ready'],
      ['never', 'terminating'],
    ],
  );
  t.match(v.agents[1]?.reason, /^node n1 is not Ready: Ready=False; last report 100\.0 s ago$/);
  t.equal(v.agents[1]?.missedInGap, 5, 'missed intervals still count');
  t.same(
    [v.pass, v.absent, v.outdated, v.okCount],
    [false, [], ['late'], 1],
    'a NotReady node is no evidence: reported before -> Outdated; terminating excused',
  );
  const excusing = computeVerdict({ ...input, failing: new Set(['absent', 'outdated'] as const) });
  t.equal(excusing.pass, true, '--failing-states absent,outdated excuses churn');
});

t.test('node churn excuses a silence only if it came first: a node cut off, then NotReady, is still outdated', async (t) => {
  const notReady = (sinceMonoMs: number) =>
    ({ reason: 'node_not_ready', detail: 'node n1 is not Ready: Ready=Unknown (NodeStatusUnknown)', sinceMonoMs }) as const;
  const expected = new Map<string, ExpectedAgent>([
    ['cut-off', { name: 'cut-off', node: 'n1', churn: notReady(40_000) }],
    ['drained', { name: 'drained', node: 'n2', churn: notReady(10_000) }],
    ['before-start', { name: 'before-start', node: 'n3', churn: notReady(-Infinity) }],
  ]);
  // Each last reported at 20 s (interval 15 s); now 100 s.
  const v = computeVerdict({
    ...base,
    expected,
    records: [rec('cut-off', 15, 20_000), rec('drained', 15, 20_000), rec('before-start', 15, 20_000)],
    nowMonoMs: 100_000,
  });
  t.same(
    v.agents.map((a) => [a.name, a.state]),
    [
      ['before-start', 'node_not_ready'],
      ['cut-off', 'outdated'],
      ['drained', 'node_not_ready'],
    ],
  );
  t.match(v.agents[1]?.reason, /^last report 80\.0 s ago, more than 2 x its 15 s interval; silent before this began: node n1 is not Ready/);
});

t.test('default: every state but ok and terminating fails, listed by evidence (never reported -> Absent)', async (t) => {
  t.same(
    [...FAILING],
    STATES.filter((s) => s !== 'ok' && s !== 'terminating'),
  );
  const silent = STATES.filter(
    (s): s is Exclude<State, 'ok' | 'starting' | 'absent' | 'outdated'> => !['ok', 'starting', 'absent', 'outdated'].includes(s),
  );
  const table: Array<[string, ExpectedAgent, boolean]> = [
    ...silent.map((reason): [string, ExpectedAgent, boolean] => [
      reason,
      { name: reason.replaceAll('_', '-'), churn: { reason, detail: 'x' } },
      reason !== 'terminating',
    ]),
    ['starting', { name: 'starting', sinceMonoMs: 99_000 }, true],
    ['absent', { name: 'absent' }, true],
  ];
  for (const [state, agent, fails] of table) {
    const v = computeVerdict({ ...base, expected: new Map([[agent.name, agent]]), records: [], nowMonoMs: 100_000 });
    t.equal(v.agents[0]?.state, state);
    t.same(
      [v.pass, v.absent, v.outdated, v.okCount],
      fails ? [false, [agent.name], [], 0] : [true, [], [], 0],
      `${state}: ${fails ? 'fails' : 'excused'}`,
    );
  }
});

t.test('--failing-states: any state can fail; never reported -> Absent, reported before -> Outdated', async (t) => {
  const expected = new Map<string, ExpectedAgent>([
    ['a', { name: 'a', churn: { reason: 'node_not_ready', detail: 'x' } }],
    ['b', { name: 'b', churn: { reason: 'node_not_ready', detail: 'x' } }],
    ['c', { name: 'c', churn: { reason: 'pod_not_running', detail: 'x' } }],
    ['d', { name: 'd', churn: { reason: 'agent_not_ready', detail: 'agent container waiting: CrashLoopBackOff, 5 restarts' } }],
  ]);
  const input = { ...base, expected, records: [rec('b', 15, 0), rec('d', 15, 0)], nowMonoMs: 100_000 };
  const v = computeVerdict({ ...input, failing: new Set(['node_not_ready', 'absent', 'outdated'] as const) });
  t.same([v.pass, v.absent, v.outdated], [false, ['a'], ['b']]);
  t.same(computeVerdict({ ...input, failing: new Set(['pod_not_running'] as const) }).absent, ['c']);
  const d = computeVerdict(input);
  t.same(
    [d.absent, d.outdated],
    [
      ['a', 'c'],
      ['b', 'd'],
    ],
    'default: all four fail',
  );
  t.match(d.agents[3], {
    name: 'd',
    state: 'agent_not_ready',
    reason: /^agent container waiting: CrashLoopBackOff, 5 restarts; last report 100\.0 s ago$/,
  });
});

t.test('starting grace counts from the pod coming up (sinceMonoMs), on the exporter clock', async (t) => {
  const since = (ms: number): Map<string, ExpectedAgent> => new Map([['a', { name: 'a', sinceMonoMs: ms }]]);
  const table: Array<[number, number, string]> = [
    [200_000, 200_000, 'starting'],
    [200_000, 259_999, 'starting'],
    [200_000, 260_000, 'absent'],
  ];
  for (const [up, now, state] of table) {
    const v = computeVerdict({ ...base, expected: since(up), records: [], nowMonoMs: now });
    t.equal(v.agents[0]?.state, state, `up at ${up}, now ${now}`);
  }
  const back = computeVerdict({ ...base, expected: since(200_000), records: [rec('a', 15, 100_000)], nowMonoMs: 210_000 });
  t.equal(back.agents[0]?.state, 'starting', 'an agent that reported before, back on a node Ready again: starting');
  t.match(back.agents[0]?.reason, /waiting for a report; last report 110\.0 s ago/);
});
