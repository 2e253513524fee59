// Which IP family is broken, as the verdict says it (verdict/families.ts through computeVerdict):
// a table of (reports, now) -> each dual-stack agent's families and the summary, with the clock
// injected. Never a change to what passes the check; nothing at all for a single-stack cluster.
import t from 'tap';
import type { CheckFamilySummary } from '../report/answers.js';
import type { IpFamily, PeerResult, Report } from '../report/schema.js';
import type { ExpectedAgent } from '../exporter/discovery/discovery.js';
import { computeVerdict } from '../exporter/verdict/verdict.js';

const INTERVAL = 10;
type Kind = 'dual' | 'single';
interface Agent {
  readonly name: string;
  readonly node: string;
  readonly kind: Kind;
}

const report = (a: Agent, peers: PeerResult[], exporter?: Partial<Record<IpFamily, string>>): Report => ({
  intervalSeconds: INTERVAL,
  nodeName: a.node,
  podName: a.name,
  hostDate: null,
  hostDateMs: null,
  uptimeSeconds: null,
  nslookup: null,
  ips: null,
  probes: null,
  network: 'pod',
  agentVersion: null,
  agentStartedMs: null,
  listen: `198.18.0.${a.node.slice(-1)}:8090`,
  ...(a.kind === 'dual'
    ? { listenByFamily: { ipv4: `198.18.0.${a.node.slice(-1)}:8090`, ipv6: `[fd00:18::${a.node.slice(-1)}]:8090` } }
    : {}),
  ...(exporter
    ? { exporterByFamily: Object.fromEntries(Object.entries(exporter).map(([f, result]) => [f, { result, latencyMs: null }])) }
    : {}),
  peers,
});

const A: Agent = { name: 'a', node: 'n1', kind: 'dual' };
const B: Agent = { name: 'b', node: 'n2', kind: 'dual' };
const C: Agent = { name: 'c', node: 'n3', kind: 'dual' };
const S: Agent = { name: 's', node: 'n4', kind: 'single' };

/** What `from` saw of `to` in its last round: per family when both are dual-stack, once otherwise. */
const probes = (from: Agent, to: Agent, fail: readonly IpFamily[] = []): PeerResult[] => {
  const one = (family: IpFamily | null): PeerResult => {
    const failed = family !== null && fail.includes(family);
    return {
      name: to.name,
      node: to.node,
      network: 'pod',
      result: failed ? 'timeout' : 'ok',
      sent: 3,
      lost: failed ? 3 : 0,
      rttMs: failed ? null : 1,
      ...(family ? { family } : {}),
    };
  };
  return from.kind === 'dual' && to.kind === 'dual' ? [one('ipv4'), one('ipv6')] : [one(null)];
};

/** A full mesh among `agents`; `cut` fails those families between the two named agents, both ways. */
function mesh(agents: readonly Agent[], cut: { between: [string, string]; families: IpFamily[] } | null): Map<string, PeerResult[]> {
  const out = new Map<string, PeerResult[]>();
  for (const from of agents) {
    const peers = agents
      .filter((to) => to !== from)
      .flatMap((to) => probes(from, to, cut && cut.between.includes(from.name) && cut.between.includes(to.name) ? cut.families : []));
    out.set(from.name, peers);
  }
  return out;
}

const NOW = 1_000_000;
const records = (agents: readonly Agent[], peers: Map<string, PeerResult[]>, ageMs: Record<string, number> = {}, exporter = {}) =>
  agents.map((a) => ({
    name: a.name,
    report: report(a, peers.get(a.name) ?? [], (exporter as Record<string, Partial<Record<IpFamily, string>>>)[a.name]),
    receivedMonoMs: NOW - (ageMs[a.name] ?? 1000),
    receivedWallMs: 0,
  }));
const verdict = (recs: ReturnType<typeof records>, expected: readonly string[] | null = null) =>
  computeVerdict({
    expected: expected && new Map<string, ExpectedAgent>(expected.map((name) => [name, { name }])),
    records: recs,
    nowMonoMs: NOW,
    startedMonoMs: 0,
    startupGraceMs: 1000,
  });

/** "agent ipv4/ipv6" states, for the dual-stack agents. */
const states = (v: ReturnType<typeof verdict>): string[] =>
  v.agents.filter((a) => a.families).map((a) => `${a.name} ${a.families?.ipv4.state}/${a.families?.ipv6.state}`);
const summary = (v: ReturnType<typeof verdict>): string => (v.families ? `${v.families.ipv4.state}/${v.families.ipv6.state}` : 'none');

t.test('single-stack cluster: no families anywhere, the answer as before', async (t) => {
  const single = [0, 1, 2].map((i): Agent => ({ name: `s${i}`, node: `n${i}`, kind: 'single' }));
  const v = verdict(records(single, mesh(single, null)));
  t.equal(v.families, null);
  t.same(states(v), []);
  t.ok(
    v.agents.every((a) => !('families' in a)),
    'no per-agent key',
  );
});

t.test('a table of faults: per agent and family, the summary, and the check unchanged', async (t) => {
  const three = [A, B, C];
  const table: Array<{
    what: string;
    agents: readonly Agent[];
    cut: { between: [string, string]; families: IpFamily[] } | null;
    ageMs?: Record<string, number>;
    exporter?: Record<string, Partial<Record<IpFamily, string>>>;
    expected?: readonly string[];
    want: string[];
    summary: string;
    pass: boolean;
  }> = [
    { what: 'healthy', agents: three, cut: null, want: ['a ok/ok', 'b ok/ok', 'c ok/ok'], summary: 'ok/ok', pass: true },
    {
      what: 'ipv6 cut between a and b, ipv4 works',
      agents: three,
      cut: { between: ['a', 'b'], families: ['ipv6'] },
      want: ['a ok/failing', 'b ok/failing', 'c ok/ok'],
      summary: 'ok/failing',
      pass: true,
    },
    {
      what: 'ipv4 cut between a and c',
      agents: three,
      cut: { between: ['a', 'c'], families: ['ipv4'] },
      want: ['a failing/ok', 'b ok/ok', 'c failing/ok'],
      summary: 'failing/ok',
      pass: true,
    },
    {
      what: 'both families cut between a and b',
      agents: three,
      cut: { between: ['a', 'b'], families: ['ipv4', 'ipv6'] },
      want: ['a failing/failing', 'b failing/failing', 'c ok/ok'],
      summary: 'failing/failing',
      pass: true,
    },
    {
      // b's report is older than 2 x its interval: no evidence of its own, and none from it about a and c.
      what: 'b outdated: unknown, never ok; the check fails as before',
      agents: three,
      cut: null,
      ageMs: { b: 2 * INTERVAL * 1000 + 1 },
      want: ['a ok/ok', 'b unknown/unknown', 'c ok/ok'],
      summary: 'unknown/unknown',
      pass: false,
    },
    {
      // An outdated prober's failures are stale: a and c are judged on what fresh agents saw.
      what: 'b outdated after an ipv6 cut with a: its old failures count for nothing',
      agents: three,
      cut: { between: ['a', 'b'], families: ['ipv6'] },
      ageMs: { b: 2 * INTERVAL * 1000 + 1 },
      want: ['a ok/failing', 'b unknown/unknown', 'c ok/ok'],
      summary: 'unknown/failing',
      pass: false,
    },
    {
      what: 'a single-stack agent among them: probed once, no evidence for either family',
      agents: [A, B, S],
      cut: null,
      want: ['a ok/ok', 'b ok/ok'],
      summary: 'ok/ok',
      pass: true,
    },
    {
      what: 'one dual-stack agent among single-stack ones: no probe over any family',
      agents: [A, S],
      cut: null,
      want: ['a unknown/unknown'],
      summary: 'unknown/unknown',
      pass: true,
    },
    {
      what: "the exporter's ping over ipv6 fails from a, the mesh works",
      agents: three,
      cut: null,
      exporter: { a: { ipv4: 'ok', ipv6: 'timeout' } },
      want: ['a ok/failing', 'b ok/ok', 'c ok/ok'],
      summary: 'ok/failing',
      pass: true,
    },
    {
      // Shown, judged by nobody: a stray agent's families do not make the summary.
      what: 'an agent outside the expected set, outdated',
      agents: three,
      cut: null,
      ageMs: { c: 2 * INTERVAL * 1000 + 1 },
      expected: ['a', 'b'],
      want: ['a ok/ok', 'b ok/ok', 'c unknown/unknown'],
      summary: 'ok/ok',
      pass: true,
    },
  ];
  for (const row of table) {
    const v = verdict(records(row.agents, mesh(row.agents, row.cut), row.ageMs, row.exporter), row.expected ?? null);
    t.same(states(v), row.want, `${row.what}: per agent`);
    t.equal(summary(v), row.summary, `${row.what}: summary`);
    t.equal(v.pass, row.pass, `${row.what}: the check as before`);
  }
});

t.test('the reasons name the family, the counts and the nodes; unknown says what is missing', async (t) => {
  const three = [A, B, C];
  const v = verdict(records(three, mesh(three, { between: ['a', 'b'], families: ['ipv6'] })));
  const a = v.agents.find((x) => x.name === 'a');
  t.same(a?.families?.ipv6, {
    state: 'failing',
    reason: 'over ipv6: reached 1 of 2 peers, reached by 1 of 2 probers; failing with n2',
    failing_nodes: ['n2'],
  });
  t.same(a?.families?.ipv4, { state: 'ok', reason: 'over ipv4: reached 2 of 2 peers, reached by 2 of 2 probers', failing_nodes: [] });
  t.same(v.families?.ipv6, {
    state: 'failing',
    reason: '2 of 3 dual-stack agents fail over ipv6, between n1 and n2',
    failing_agents: ['a', 'b'],
    unknown_agents: [],
  } satisfies CheckFamilySummary);
  t.equal(v.families?.ipv4.reason, 'every probe over ipv4 of the 3 dual-stack agents answered in their last round');

  const late = verdict(records(three, mesh(three, null), { b: 2 * INTERVAL * 1000 + 1 }));
  t.same(late.agents.find((x) => x.name === 'b')?.families?.ipv4, {
    state: 'unknown',
    reason: 'no fresh report (outdated)',
    failing_nodes: [],
  });
  t.same(late.families?.ipv6, {
    state: 'unknown',
    reason: 'no fresh evidence over ipv6 for 1 of 3 dual-stack agents',
    failing_agents: [],
    unknown_agents: ['b'],
  });
  const alone = verdict(records([A, S], mesh([A, S], null)));
  t.equal(alone.agents.find((x) => x.name === 'a')?.families?.ipv6.reason, 'no probe over ipv6 in the last round (no dual-stack peer)');
});

t.test('time alone turns ok into unknown: the clock decides freshness, not the report', async (t) => {
  const three = [A, B, C];
  const recs = records(three, mesh(three, null));
  const at = (nowMonoMs: number) =>
    computeVerdict({ expected: null, records: recs, nowMonoMs, startedMonoMs: 0, startupGraceMs: 1000 }).families?.ipv4.state;
  t.equal(at(NOW - 1000 + 2 * INTERVAL * 1000), 'ok', 'at exactly 2 intervals: fresh');
  t.equal(at(NOW - 1000 + 2 * INTERVAL * 1000 + 1), 'unknown', 'past 2 intervals: unknown');
});

t.test('a reason names at most 5 node pairs, and says how many more', async (t) => {
  const many = Array.from({ length: 8 }, (_, i): Agent => ({ name: `x${i}`, node: `m${i}`, kind: 'dual' }));
  // x0 cannot reach anyone over ipv6, nor anyone it.
  const peers = new Map<string, PeerResult[]>();
  for (const from of many)
    peers.set(
      from.name,
      many.filter((to) => to !== from).flatMap((to) => probes(from, to, from.name === 'x0' || to.name === 'x0' ? ['ipv6'] : [])),
    );
  const v = verdict(records(many, peers));
  t.equal(
    v.families?.ipv6.reason,
    '8 of 8 dual-stack agents fail over ipv6, between m0 and m1, m0 and m2, m0 and m3, m0 and m4, m0 and m5 and 2 more',
  );
  t.equal(
    v.agents[0]?.families?.ipv6.reason,
    'over ipv6: reached 0 of 7 peers, reached by 0 of 7 probers; failing with m1, m2, m3, m4, m5 and 2 more',
  );
});
