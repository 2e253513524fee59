// The lab dual-stack: every node and pod has an IPv6 ULA address beside its IPv4 one (inside the
// lab's namespaces only), agents listen on [::] and advertise both. Blocking one family between
// two nodes (an nft `ip` or `ip6` table) must show on that family only, in /metrics, while the
// other family keeps every pair reachable and connectivity_check keeps passing (reports travel
// over IPv4 to the exporter, which the partition does not touch) while its `families` names the
// broken family between those two nodes. DNS likewise: the cluster DNS answers on an address of
// each family, agents ask A over IPv4 and AAAA over IPv6; IPv6 blocked between one node and it
// fails that node's DNS over ipv6 only.
import t from 'tap';
import {
  blockFamily,
  INTERVAL_SECONDS,
  type LabCluster,
  type Metric,
  partitionFamily,
  select,
  startLabCluster,
  within,
} from './lab/cluster.js';

const ROUND_MS = 2 * INTERVAL_SECONDS * 1000 + 1500; // the fault may land mid-round: the next full round plus its report
const FAMILIES = ['ipv4', 'ipv6'] as const;

/** Failing pairs as "prober->peer family". */
const failing = (ms: readonly Metric[]): string[] =>
  select(ms, 'netchecker_agent_peer_unreachable')
    .map((m) => `${m.labels.agent}->${m.labels.peer} ${m.labels.family ?? '(none)'}`)
    .sort();

/** Agents whose DNS failed over a family in their last round, as "agent family". */
const dnsFailing = (ms: readonly Metric[]): string[] =>
  select(ms, 'netchecker_agent_dns_up')
    .filter((m) => m.value !== 1)
    .map((m) => `${m.labels.agent} ${m.labels.family ?? '(none)'}`)
    .sort();

/** Peers an agent reached (or not) over a family in its last round, both peer networks. */
const peers = (ms: readonly Metric[], agent: string, family: string, status: string): number =>
  select(ms, 'netchecker_agent_peers', { agent, family, status }).reduce((s, m) => s + m.value, 0);

async function healthy(c: LabCluster, limitMs: number): Promise<number> {
  const others = c.agents.length - 1;
  let last = '';
  const { ms } = await within(limitMs, 'every agent reaches every peer and resolves over both families', async () => {
    const check = await c.get('/api/v1/connectivity_check');
    const m = await c.metrics();
    const reached = c.agents.flatMap((a) => FAMILIES.map((f) => peers(m, a.name, f, 'reachable')));
    const resolving =
      select(m, 'netchecker_agent_dns_up', { family: 'ipv6' }).length + select(m, 'netchecker_agent_dns_up', { family: 'ipv4' }).length;
    last = `check ${check.status}; reachable per agent and family ${reached.join(',')}; failing ${failing(m).join(' ')}; DNS failing ${dnsFailing(m).join(' ')}`;
    const dnsOk = resolving === 2 * c.agents.length && dnsFailing(m).length === 0;
    return check.status === 200 && reached.every((n) => n === others) && failing(m).length === 0 && dnsOk ? true : undefined;
  }).catch((e: Error) => {
    throw new Error(`${e.message}; last seen: ${last}`);
  });
  return ms;
}

t.setTimeout(300_000);

t.test('lab: one IP family partitioned between two nodes, the other works', async (t) => {
  const c = await startLabCluster(t, 3, { dualStack: true });
  t.comment(`healthy over both families after ${await healthy(c, 30_000)} ms`);
  const [n1, n2] = c.net.nodes as [(typeof c.net.nodes)[0], (typeof c.net.nodes)[0]];
  const onNode = (i: number): string[] => c.agents.filter((a) => a.node.index === i).map((a) => a.name);
  const between = [
    ...onNode(1).flatMap((a) => onNode(2).map((p) => `${a}->${p}`)),
    ...onNode(2).flatMap((a) => onNode(1).map((p) => `${a}->${p}`)),
  ];

  for (const family of FAMILIES) {
    const other = family === 'ipv4' ? 'ipv6' : 'ipv4';
    await t.test(`${family} blocked between node-1 and node-2, ${other} open`, async (t) => {
      const undo = await partitionFamily(c.net, n1, n2, family);
      t.teardown(undo);
      const want = between.map((p) => `${p} ${family}`).sort();
      const seen = await within(ROUND_MS, `the ${between.length} pairs between node-1 and node-2 fail over ${family}`, async () => {
        const pairs = failing(await c.metrics());
        return want.every((p) => pairs.includes(p)) ? pairs : undefined;
      });
      t.pass(`seen after ${seen.ms} ms`);
      t.same(seen.value, want, `only those pairs fail, and only over ${family}`);
      const m = await c.metrics();
      for (const a of onNode(1)) {
        t.equal(peers(m, a, family, 'unreachable'), 2, `${a}: both agents of node-2 unreachable over ${family}`);
        t.equal(peers(m, a, other, 'unreachable'), 0, `${a}: none over ${other}`);
        t.equal(peers(m, a, other, 'reachable'), c.agents.length - 1, `${a}: every peer reached over ${other}`);
        t.equal(select(m, 'netchecker_agent_probed_by', { agent: a, family, status: 'unreachable' })[0]?.value, 2, `${a} as a target`);
        t.equal(select(m, 'netchecker_agent_probed_by', { agent: a, family: other, status: 'unreachable' })[0]?.value, 0);
      }
      // The verdict names the broken family and where, once every agent's round saw the cut.
      const named = await within(ROUND_MS, `connectivity_check names ${family} between node-1 and node-2`, async () => {
        const check = await c.get('/api/v1/connectivity_check');
        const f = (JSON.parse(check.body) as { families?: Record<string, { state: string; reason: string }> }).families;
        return f?.[family]?.state === 'failing' && f[other]?.state === 'ok' && f[family].reason.endsWith('between node-1 and node-2')
          ? check
          : undefined;
      });
      t.equal(named.value.status, 200, 'every agent still reports: connectivity_check passes, and names the family');
      await undo();
      t.comment(`recovered ${await healthy(c, 4 * ROUND_MS)} ms after the ${family} partition was lifted`);
    });
  }

  await t.test('ipv6 blocked between node-1 and the cluster DNS: its DNS fails over ipv6 only', async (t) => {
    const undo = await blockFamily(c.net, n1, 'ipv6', c.net.exporterIp6 as string);
    t.teardown(undo);
    const want = onNode(1)
      .map((a) => `${a} ipv6`)
      .sort();
    const seen = await within(ROUND_MS, "node-1's agents fail DNS over ipv6", async () => {
      const now = dnsFailing(await c.metrics());
      return want.every((a) => now.includes(a)) ? now : undefined;
    });
    t.pass(`seen after ${seen.ms} ms`);
    t.same(seen.value, want, 'only node-1, only ipv6');
    const m = await c.metrics();
    for (const a of onNode(1)) {
      t.equal(select(m, 'netchecker_agent_dns_up', { agent: a, family: 'ipv4' })[0]?.value, 1, `${a}: A over IPv4 resolves`);
      // Dropped on the way (a pod's: timeout) or at send on the host itself (an error: other).
      const failed = select(m, 'netchecker_agent_dns_queries_total', { agent: a, family: 'ipv6' }).filter((q) => q.labels.result !== 'ok');
      t.ok(
        failed.some((q) => q.value > 0),
        `${a}: failed AAAA queries counted`,
      );
    }
    t.equal((await c.get('/api/v1/connectivity_check')).status, 200, 'reports travel over IPv4: connectivity_check passes');
    await undo();
    t.comment(`recovered ${await healthy(c, 4 * ROUND_MS)} ms after`);
  });
});
