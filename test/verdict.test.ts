// The verdict as a pure function: a table of (expected, reports, now) -> states.
import t from 'tap';
import type { Report } from '../report/schema.js';
import type { ExpectedAgent } from '../exporter/discovery/discovery.js';
import { computeVerdict } from '../exporter/verdict/verdict.js';

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
});
const rec = (name: string, interval: number, receivedMonoMs: number) => ({ name, report: report(interval), receivedMonoMs, receivedWallMs: 0 });
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

t.test('expected agents that never reported: starting within the grace, then absent', async (t) => {
  const during = computeVerdict({ ...base, expected: expect('a', 'b'), records: [rec('a', 15, 50_000)], nowMonoMs: 59_999 });
  t.same(during.agents.map((a) => [a.name, a.state]), [['a', 'ok'], ['b', 'starting']]);
  t.equal(during.pass, true);
  const after = computeVerdict({ ...base, expected: expect('a', 'b'), records: [rec('a', 15, 50_000)], nowMonoMs: 60_000 });
  t.same(after.agents.map((a) => [a.name, a.state]), [['a', 'ok'], ['b', 'absent']]);
  t.same([after.pass, after.absent, after.outdated], [false, ['b'], []]);
});

t.test('reporting agents outside the expected set are shown but never fail the check', async (t) => {
  const v = computeVerdict({ ...base, expected: expect('a'), records: [rec('a', 15, 0), rec('stray', 15, 0)], nowMonoMs: 100_000 });
  t.same(v.agents.map((a) => [a.name, a.state, a.expected]), [['a', 'outdated', true], ['stray', 'outdated', false]]);
  t.same(v.outdated, ['a']);
});

t.test('without an expected set, the reporting agents are the set', async (t) => {
  const v = computeVerdict({ ...base, expected: null, records: [rec('b', 5, 0), rec('a', 5, 9_000)], nowMonoMs: 10_001 });
  t.same(v.agents.map((a) => [a.name, a.state]), [['a', 'ok'], ['b', 'outdated']]);
  t.equal(v.okCount, 1);
});

t.test('network from the name rule; node from the report', async (t) => {
  const v = computeVerdict({ ...base, expected: null, records: [rec('netchecker-agent-hostnet-x', 5, 0)], nowMonoMs: 0 });
  t.same([v.agents[0]?.network, v.agents[0]?.node], ['host', 'n1']);
});
