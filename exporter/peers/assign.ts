// Peer assignment: which agents each agent probes. Pure and deterministic (same agents in, same
// peers out, whatever the input order), so every exporter replica hands out the same lists.
//
// Agents are put on a ring ordered by a hash of their node name (so a node's peers are spread
// over the cluster rather than its alphabetical neighbours), a node's pod agent before its host
// agent. Each agent probes the next k agents on the ring: every agent has k peers and is probed
// by exactly k others (everybody else when the cluster has k + 1 agents or fewer). With both
// agents on each node, k >= 2 covers pod->pod, pod->host, host->pod and host->host. When the
// networks are lopsided (a DaemonSet missing on most nodes), a path nobody covers is given to
// its first prober on the ring as one extra peer, so coverage never costs another agent a prober.

import type { Peer } from '../../report/answers.js';
import type { Network } from '../../report/schema.js';

/** An agent that can be handed out: the peers answer's entry (report/answers.ts). */
export type PeerCandidate = Peer;

export const MESH_PEERS_MIN = 2;

/** FNV-1a, 32 bit, with murmur3's finalizer so names differing in the last character spread too. Not a security measure. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const cmp = (a: string | number, b: string | number): number => (a < b ? -1 : a > b ? 1 : 0);

/** Ring order: by node hash, node name, pod before host, agent name. */
function ringCompare(x: { h: number; a: Omit<PeerCandidate, 'address'> }, y: { h: number; a: Omit<PeerCandidate, 'address'> }): number {
  return (
    cmp(x.h, y.h) || cmp(x.a.node, y.a.node) || cmp(x.a.network === 'pod' ? 0 : 1, y.a.network === 'pod' ? 0 : 1) || cmp(x.a.name, y.a.name)
  );
}

/** The ring, each member with its node's hash (computed once per assignment). */
export type Ring = ReadonlyArray<{ readonly a: PeerCandidate; readonly h: number }>;

/** The ring: by node hash, node name, pod before host, agent name. */
export function ringOrder(agents: readonly PeerCandidate[]): Ring {
  return agents.map((a) => ({ a, h: fnv1a(a.node) })).sort(ringCompare);
}

/**
 * Peers of an agent that probes but is not on the ring (not `ok`, so not handed out to others):
 * the next k agents from where it would stand. An agent that asks is alive, and one whose reports
 * arrive late over a lossy path must go on measuring it.
 */
export function peersFrom(prober: Omit<PeerCandidate, 'address'>, ring: Ring, k: number): PeerCandidate[] {
  const me = { a: prober, h: fnv1a(prober.node) };
  // The first member after it, by binary search: O(log N + k) per late agent, however many.
  let lo = 0;
  let hi = ring.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ringCompare(ring[mid] as Ring[number], me) > 0) hi = mid;
    else lo = mid + 1;
  }
  const want = Math.max(k, MESH_PEERS_MIN);
  const out: PeerCandidate[] = [];
  for (let i = 0; i < ring.length && out.length < want; i++) {
    const { a } = ring[(lo + i) % ring.length] as Ring[number];
    if (a.name !== prober.name) out.push(a);
  }
  return out;
}

/** Agent name -> its peers, in ring order. `k` is at least MESH_PEERS_MIN. */
export function assignPeers(agents: readonly PeerCandidate[], k: number): Map<string, PeerCandidate[]> {
  const ring = ringOrder(agents).map((m) => m.a);
  const n = ring.length;
  const out = new Map<string, PeerCandidate[]>();
  const count = Math.min(Math.max(k, MESH_PEERS_MIN), n - 1);
  ring.forEach((a, i) => {
    const peers: PeerCandidate[] = [];
    for (let d = 1; d <= count; d++) peers.push(ring[(i + d) % n] as PeerCandidate);
    out.set(a.name, peers);
  });
  coverPaths(ring, out);
  return out;
}

const PATHS: ReadonlyArray<readonly [Network, Network]> = [
  ['pod', 'pod'],
  ['host', 'host'],
  ['pod', 'host'],
  ['host', 'pod'],
];

/** Adds one extra peer for each path that exists in the cluster but no assignment covers. */
function coverPaths(ring: readonly PeerCandidate[], out: Map<string, PeerCandidate[]>): void {
  const n = ring.length;
  for (const [from, to] of PATHS) {
    const sizeTo = ring.filter((a) => a.network === to).length;
    const possible = ring.some((a) => a.network === from) && sizeTo >= (from === to ? 2 : 1);
    if (!possible) continue;
    const covered = ring.some((a) => a.network === from && (out.get(a.name) ?? []).some((p) => p.network === to));
    if (covered) continue;
    const i = ring.findIndex((a) => a.network === from);
    const prober = ring[i] as PeerCandidate;
    const peers = out.get(prober.name) as PeerCandidate[];
    for (let d = 1; d < n; d++) {
      const c = ring[(i + d) % n] as PeerCandidate;
      if (c.network === to && !peers.includes(c)) {
        peers.push(c);
        break;
      }
    }
  }
}
