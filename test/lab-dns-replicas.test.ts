// The netns lab with cluster DNS as a Service: two dnsmasq replicas behind an nftables DNAT
// address (test/lab/dns-service.ts), the agents' resolver. One replica breaks (answers REFUSED):
// through the Service address only part of the lookups fail, from every agent alike, so nothing
// names it; queried directly it fails for every agent, and its series names it (address, pod,
// node) while the other replica stays ok for all. Healed, it recovers.
import t from 'tap';
import { INTERVAL_SECONDS, type Metric, select, startLabCluster, within } from './lab/cluster.js';
import { DNS_REPLICA_ARGS, DNS_VIP, REPLICAS, startDnsService } from './lab/dns-service.js';

/** A change lands within the next full round plus its report; the first list comes with a round's peers answer. */
const ROUND_MS = 2 * INTERVAL_SECONDS * 1000 + 1500;

const replicaAgents = (ms: readonly Metric[], address: string, status: 'ok' | 'failing'): number | undefined =>
  select(ms, 'netchecker_dns_replica_agents', { replica: address, status })[0]?.value;

/** Service-address DNS queries of every agent by result, summed. */
const serviceQueries = (ms: readonly Metric[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const m of select(ms, 'netchecker_agent_dns_queries_total'))
    out[m.labels.result as string] = (out[m.labels.result as string] ?? 0) + m.value;
  return out;
};

t.setTimeout(300_000);

t.test(
  'lab: one broken DNS replica behind the Service address is named; through the Service address only part of the lookups fail',
  async (t) => {
    const c = await startLabCluster(t, 4, { agentDnsServer: DNS_VIP, exporterArgs: DNS_REPLICA_ARGS });
    const dns = await startDnsService(t, c);
    const all = c.agents.length;
    const [a, b] = REPLICAS as [(typeof REPLICAS)[0], (typeof REPLICAS)[0]];
    let last = '';
    const seen = (ms: readonly Metric[]): string =>
      REPLICAS.map((r) => `${r.address} ok=${replicaAgents(ms, r.address, 'ok')} failing=${replicaAgents(ms, r.address, 'failing')}`).join(
        '; ',
      );

    // An agent counts while its report is fresh and it is not starved. With two CPU hogs that can
    // be a single agent at a time: a check wants some agent counted, and every counted one agreeing.
    const enough = (n: number | undefined): boolean => n !== undefined && n >= 1;
    // Agents get the replicas with their first peers answer and query them from the next round.
    const up = await within(30_000, 'some agent answered by both replicas, none failing', async () => {
      const ms = await c.metrics();
      last = seen(ms);
      return REPLICAS.every((r) => enough(replicaAgents(ms, r.address, 'ok')) && replicaAgents(ms, r.address, 'failing') === 0)
        ? true
        : undefined;
    }).catch((e: Error) => {
      throw new Error(`${e.message}; last seen: ${last}`);
    });
    t.comment(`both replicas ok, none failing, after ${up.ms} ms (${last})`);
    const healthy = await c.metrics();
    t.match(select(healthy, 'netchecker_dns_replica_agents', { replica: b.address, status: 'ok' })[0]?.labels, {
      replica_pod: 'coredns-b',
      replica_node: 'dns-node',
    });

    await dns.break(1);
    const brokenAt = Date.now();
    const broken = await within(ROUND_MS * 2, 'replica b failing and replica a ok for some agents, for none the other way', async () => {
      const ms = await c.metrics();
      last = seen(ms);
      return enough(replicaAgents(ms, b.address, 'failing')) &&
        replicaAgents(ms, b.address, 'ok') === 0 &&
        enough(replicaAgents(ms, a.address, 'ok')) &&
        replicaAgents(ms, a.address, 'failing') === 0
        ? true
        : undefined;
    }).catch((e: Error) => {
      throw new Error(`${e.message}; last seen: ${last}`);
    });
    t.comment(`replica b named failing by the agents ${broken.ms} ms after the break: ${last}`);
    // The count starts once every report comes from a round begun after the restart: a query in
    // the restart itself finds no replica listening and fails otherwise than REFUSED.
    await new Promise((r) => setTimeout(r, Math.max(0, brokenAt + ROUND_MS - Date.now())));
    const before = serviceQueries(await c.metrics());
    // A few more rounds of Service-address lookups with the replica broken.
    await new Promise((r) => setTimeout(r, 3 * INTERVAL_SECONDS * 1000));
    const after = serviceQueries(await c.metrics());
    const delta = (k: string): number => (after[k] ?? 0) - (before[k] ?? 0);
    const total = Object.keys(after).reduce((n, k) => n + delta(k), 0);
    const refusedShare = delta('refused') / total;
    t.comment(
      `Service-address lookups meanwhile: ${total}, ${Object.keys(after)
        .map((k) => `${k} ${delta(k)}`)
        .join(', ')} (${(100 * refusedShare).toFixed(0)}% refused)`,
    );
    t.ok(total >= 4 * all, 'several rounds of lookups through the Service address');
    // Random over two replicas: about half land on the broken one. The bounds are many standard deviations wide.
    t.ok(refusedShare > 0.15 && refusedShare < 0.85, 'only part of the Service-address lookups fail (the DNAT spreads them)');
    t.equal(delta('ok') + delta('refused'), total, 'the others answer ok: nothing else failed');

    await dns.heal(1);
    const healed = await within(ROUND_MS * 2, 'replica b ok again for some agents, failing for none', async () => {
      const ms = await c.metrics();
      last = seen(ms);
      return enough(replicaAgents(ms, b.address, 'ok')) && replicaAgents(ms, b.address, 'failing') === 0 ? true : undefined;
    }).catch((e: Error) => {
      throw new Error(`${e.message}; last seen: ${last}`);
    });
    t.comment(`replica b ok again ${healed.ms} ms after healing`);
  },
);
