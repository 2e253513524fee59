// GET /api/v1/peers/{name}: the peers an agent probes, so agents never call the Kubernetes API.
// The assignment covers the agents whose verdict is `ok` (a fresh report) and that advertised a
// listener: a dead or silent agent is no peer, so it cannot be blamed on the network by others.
// An agent with a bound listener that is not `ok` (its reports arrive late, or it is back after a
// silence) still gets peers to probe: the next k on the ring from where it would stand. An
// unbound listener takes no part in the mesh at all.
// It is recomputed when the verdict changed, at most once per second (O(N log N)), never per
// request: an agent joins, or leaves every assignment, at most a second after its verdict state
// changes, so before the other agents' next round.
// Only listeners bound to their agent are handed out (peers/bound.ts): agents probe what they get.
// A dual-stack agent's address per family goes with it when each one is bound, so that dual-stack
// probers probe it over both families; otherwise its single `address`, as for any agent.
// With them go the cluster DNS replicas (discovery/dns-replicas.ts), the same list to every agent.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PeersAnswer } from '../../report/answers.js';
import { isValidAgentName, type Report } from '../../report/schema.js';
import type { Clock } from '../../lib/clock.js';
import type { Monitor } from '../monitor.js';
import type { Logger } from '../../lib/log.js';
import type { Cidr } from '../../report/address.js';
import type { Discovery } from '../discovery/discovery.js';
import type { DnsReplica } from '../discovery/dns-replicas.js';
import { assignPeers, type PeerCandidate, peersFrom, ringOrder } from '../peers/assign.js';
import { isBoundAddress } from '../peers/bound.js';
import type { Store } from '../store/store.js';
import type { Verdict } from '../verdict/verdict.js';
import { sendError } from './errors.js';
import { sendJson } from './respond.js';

const RECOMPUTE_MS = 1000;

export interface PeersDeps {
  readonly monitor: Monitor;
  readonly store: Store;
  readonly discovery: Discovery;
  /** The current cluster DNS replicas; empty: the answer has no dns_replicas. */
  readonly dnsReplicas: () => readonly DnsReplica[];
  readonly meshPeers: number;
  readonly peerCidrs: readonly Cidr[];
  readonly clock: Clock;
  readonly log: Logger;
}

export function peersHandler({ monitor, store, discovery, dnsReplicas, meshPeers, peerCidrs, clock, log }: PeersDeps) {
  /** The replicas' addresses, made again only when the list changes. */
  let addresses: { of: readonly DnsReplica[]; list: readonly string[] } = { of: [], list: [] };
  const replicaAddresses = (): readonly string[] => {
    const now = dnsReplicas();
    if (now !== addresses.of) addresses = { of: now, list: now.map((r) => r.address) };
    return addresses.list;
  };
  let cached: { atMonoMs: number; verdict: Verdict; peers: Map<string, PeerCandidate[]> } | null = null;
  /** `name address` of the listeners left out last time: each is logged once, when it is first left out. */
  let unbound = new Set<string>();

  const assignment = (verdict: Verdict): Map<string, PeerCandidate[]> => {
    const now = clock.monoMs();
    if (cached && (cached.verdict === verdict || now - cached.atMonoMs < RECOMPUTE_MS)) return cached.peers;
    const candidates: PeerCandidate[] = [];
    const expected = discovery.expected();
    const left = new Set<string>();
    /** Agents with a bound listener that are not ok: they probe (peersFrom) but are not probed. */
    const late = new Map<string, Omit<PeerCandidate, 'address'>>();
    for (const a of verdict.agents) {
      const record = store.get(a.name);
      const address = record?.report.listen;
      if (!address) continue;
      // A discovery that knows pods (Kubernetes) knows each agent's IPs; otherwise the report's connection does.
      const owned = discovery.pod ? (expected?.get(a.name)?.addresses ?? []) : record.source ? [record.source] : [];
      if (!isBoundAddress(address, owned, peerCidrs)) left.add(`${a.name} ${address}`);
      else if (a.state === 'ok')
        candidates.push({ name: a.name, node: a.node, network: a.network, address, ...boundByFamily(record.report, owned) });
      else late.set(a.name, { name: a.name, node: a.node, network: a.network });
    }
    for (const key of left) {
      if (unbound.has(key)) continue;
      const [agent, listen] = key.split(' ');
      log.warn('listener not handed out as a peer', {
        agent,
        listen,
        reason: `not on the agent's own IP (${discovery.pod ? 'its pod' : "the report's source address"}) nor in --peer-cidrs`,
      });
    }
    unbound = left;
    const peers = assignPeers(candidates, meshPeers);
    const ring = ringOrder(candidates);
    for (const [name, prober] of late) peers.set(name, peersFrom(prober, ring, meshPeers));
    cached = { atMonoMs: now, verdict, peers };
    return cached.peers;
  };

  /** The listener per family, when the agent is dual-stack and every one of them is bound; else nothing (its `address` alone). */
  const boundByFamily = (report: Report, owned: readonly string[]): Pick<PeerCandidate, 'address_by_family'> => {
    const byFamily = report.listenByFamily;
    if (!byFamily || Object.keys(byFamily).length < 2) return {};
    return Object.values(byFamily).every((a) => isBoundAddress(a, owned, peerCidrs)) ? { address_by_family: byFamily } : {};
  };

  return async (_req: IncomingMessage, res: ServerResponse, name: string): Promise<void> => {
    if (!isValidAgentName(name)) return sendError(res, 'invalid_agent_name');
    // An agent not stored yet (or without a listener) has no peers yet: an empty list, not 404.
    const peers = assignment(await monitor.fresh()).get(name) ?? [];
    const replicas = replicaAddresses();
    const answer: PeersAnswer = replicas.length > 0 ? { peers, dns_replicas: replicas } : { peers };
    sendJson(res, 200, answer);
  };
}
