// Peer assignment as a table of cluster shapes: k peers each (everybody when smaller), every
// agent probed by at least k others, the four network paths covered, same answer in any order.
import t from 'tap';
import { assignPeers, type PeerCandidate, peersFrom, ringOrder } from '../exporter/peers/assign.js';
import type { Network } from '../report/schema.js';

function cluster(nodes: number, networks: (i: number) => Network[]): PeerCandidate[] {
  const out: PeerCandidate[] = [];
  for (let i = 0; i < nodes; i++) {
    for (const network of networks(i)) {
      out.push({
        name: `agent-${network}-${i}`,
        node: `node-${i}`,
        network,
        address: `198.18.${i >> 8}.${i & 255}:${network === 'pod' ? 8090 : 8091}`,
      });
    }
  }
  return out;
}

const both = (): Network[] => ['pod', 'host'];
const cases: Array<{ name: string; agents: PeerCandidate[]; k: number }> = [
  { name: 'empty cluster', agents: [], k: 10 },
  { name: 'one agent', agents: cluster(1, () => ['pod']), k: 10 },
  { name: 'one node, both networks', agents: cluster(1, both), k: 10 },
  { name: '4 nodes, smaller than k', agents: cluster(4, both), k: 10 },
  { name: '6 nodes, k + 1 agents exactly', agents: cluster(6, both).slice(0, 11), k: 10 },
  { name: '50 nodes, k=10', agents: cluster(50, both), k: 10 },
  { name: '500 nodes, k=10', agents: cluster(500, both), k: 10 },
  { name: '30 nodes, k=2', agents: cluster(30, both), k: 2 },
  { name: 'host DaemonSet on 2 of 40 nodes, k=2', agents: cluster(40, (i) => (i < 2 ? ['pod', 'host'] : ['pod'])), k: 2 },
  { name: 'pod DaemonSet on 1 of 25 nodes, k=3', agents: cluster(25, (i) => (i === 7 ? ['pod', 'host'] : ['host'])), k: 3 },
  { name: 'pod network only', agents: cluster(20, () => ['pod']), k: 5 },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const peers = assignPeers(c.agents, c.k);
    const n = c.agents.length;
    const want = Math.min(c.k, n - 1);
    t.equal(peers.size, n, 'every agent has a list');
    const probers = new Map<string, number>(c.agents.map((a) => [a.name, 0]));
    const paths = new Set<string>();
    let extras = 0;
    for (const a of c.agents) {
      const list = peers.get(a.name) ?? [];
      t.notOk(
        list.some((p) => p.name === a.name),
        `${a.name} does not probe itself`,
      );
      t.equal(new Set(list.map((p) => p.name)).size, list.length, `${a.name}: no duplicates`);
      t.ok(list.length === want || list.length === want + 1, `${a.name}: k peers (${list.length})`);
      extras += list.length - want;
      for (const p of list) {
        probers.set(p.name, (probers.get(p.name) ?? 0) + 1);
        paths.add(`${a.network}->${p.network}`);
      }
    }
    t.ok(extras <= 4, 'at most one extra peer per uncovered path');
    for (const [name, count] of probers) if (count < want) t.fail(`${name} is probed by ${count} < ${want}`);
    const size = (net: Network): number => c.agents.filter((a) => a.network === net).length;
    for (const [from, to] of [
      ['pod', 'pod'],
      ['host', 'host'],
      ['pod', 'host'],
      ['host', 'pod'],
    ] as Array<[Network, Network]>) {
      const possible = size(from) > 0 && size(to) >= (from === to ? 2 : 1);
      t.equal(paths.has(`${from}->${to}`), possible, `${from}->${to} covered when the cluster has it`);
    }
    const shuffled = [...c.agents].reverse();
    t.same(assignPeers(shuffled, c.k), peers, 'deterministic: input order does not matter');
  });
}

t.test('everybody when the cluster is smaller than k', async (t) => {
  const agents = cluster(3, both);
  const peers = assignPeers(agents, 10);
  for (const a of agents) t.same(new Set(peers.get(a.name)?.map((p) => p.name)), new Set(agents.filter((b) => b !== a).map((b) => b.name)));
});

t.test("a node's peers are spread, not its alphabetical neighbours", async (t) => {
  const peers = assignPeers(cluster(200, both), 10);
  const nodes = new Set((peers.get('agent-pod-0') ?? []).map((p) => Number(p.node.slice(5))));
  t.ok(
    [...nodes].some((i) => i > 20),
    `peers of node-0 are on nodes ${[...nodes].join(', ')}`,
  );
});

t.test('an agent off the ring (not ok) gets the next k from where it would stand', async (t) => {
  const ring = ringOrder(cluster(50, both));
  const members = ring.map((m) => m.a);
  // Where it would stand, found by a linear walk: the first member after it in ring order.
  const reference = (prober: PeerCandidate, k: number): string[] => {
    const all = ringOrder([...members, prober]).map((m) => m.a.name);
    const at = all.indexOf(prober.name);
    const after = [...all.slice(at + 1), ...all.slice(0, at)];
    return after.slice(0, Math.max(k, 2));
  };
  for (const i of [0, 7, 23, 49, 50, 77]) {
    for (const network of ['pod', 'host'] as const) {
      const prober = { name: `late-${network}-${i}`, node: `node-${i}`, network, address: '198.18.9.9:8090' };
      t.same(
        peersFrom(prober, ring, 5).map((p) => p.name),
        reference(prober, 5),
        `${prober.name}: the 5 after it on the ring`,
      );
    }
  }
  const onRing = members[10] as PeerCandidate;
  t.notOk(
    peersFrom(onRing, ring, 5).some((p) => p.name === onRing.name),
    'never itself',
  );
  t.same(peersFrom(onRing, ringOrder([onRing]), 5), [], 'nobody else: no peers');
});
