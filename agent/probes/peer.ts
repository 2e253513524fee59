// Peer probe: a few HTTP round trips to an assigned peer's listener (agent/listener.ts), each on
// a fresh connection, sent together; how many got no answer is the loss, the fastest answer is
// the RTT. The row serves this agent's own listener (--listen), probes the peers assigned last
// round and fetches the list for the next one (GET /api/v1/peers/{name}). Never throws.
// Dual-stack: an agent with an address of each family probes a dual-stack peer once per family,
// each result carrying its family; any other pair is probed once at the peer's `address`, as before.

import { joinHostPort, parseIp } from '../../report/address.js';
import { parseDnsReplicas, parsePeersAnswer, type Peer } from '../../report/answers.js';
import { wirePeer } from '../../report/encode.js';
import { type ByFamily, IP_FAMILIES, type IpFamily, type Network } from '../../report/schema.js';
import { firstAddress } from '../addresses.js';
import { startListener } from '../listener.js';
import { probeHttp } from './http.js';
import type { Outcome, ProbeLimits, ProbeRow } from './probe.js';

export interface PeerOutcome extends Outcome {
  readonly name: string;
  readonly node: string;
  readonly network: Network;
  readonly sent: number;
  readonly lost: number;
  /** Fastest answered round trip (connect + request + response), ms; null when none answered. */
  readonly rttMs: number | null;
  /** Set when the peer was probed per family. */
  readonly family?: IpFamily;
}

export interface PeerProbeOptions extends ProbeLimits {
  readonly attempts: number;
}

/** One probe of the round: a peer, and the family to probe it over (null: its `address`, no family). */
export interface PeerTarget {
  readonly peer: Peer;
  readonly family: IpFamily | null;
}

/**
 * What to probe: each peer once per family when this agent and the peer are both dual-stack
 * (`own` has both families), else once at its `address`. Pure.
 */
export function peerTargets(peers: readonly Peer[], own: ByFamily | null): PeerTarget[] {
  const dual = own !== null && IP_FAMILIES.every((f) => own[f] !== undefined);
  return peers.flatMap((peer): PeerTarget[] => {
    const families = dual ? IP_FAMILIES.filter((f) => peer.address_by_family?.[f] !== undefined) : [];
    return families.length === IP_FAMILIES.length ? families.map((family) => ({ peer, family })) : [{ peer, family: null }];
  });
}

/** ok when at least one attempt answered, else the first attempt's class. */
export async function probePeer(
  peer: Peer,
  { timeoutMs, attempts, signal }: PeerProbeOptions,
  family: IpFamily | null = null,
): Promise<PeerOutcome> {
  const url = `http://${(family && peer.address_by_family?.[family]) || peer.address}/`;
  const outcomes = await Promise.all(Array.from({ length: attempts }, () => probeHttp(url, { timeoutMs, ...(signal ? { signal } : {}) })));
  const answered = outcomes.filter((o) => o.result === 'ok');
  return {
    name: peer.name,
    node: peer.node,
    network: peer.network,
    result: answered.length > 0 ? 'ok' : (outcomes[0]?.result ?? 'error'),
    sent: attempts,
    lost: attempts - answered.length,
    rttMs: answered.length > 0 ? Math.min(...answered.map((o) => o.phasesMs.total)) : null,
    ...(family ? { family } : {}),
  };
}

/** What the peers answer assigns: the peers, and the cluster DNS replicas to query directly. */
export interface Assignment {
  readonly peers: Peer[];
  readonly dnsReplicas: string[];
}

/** The agent's assignment; null when the exporter cannot be asked or answers nonsense. */
export async function fetchPeers(serverUrl: string, name: string, { timeoutMs, signal }: ProbeLimits): Promise<Assignment | null> {
  const timeout = AbortSignal.timeout(Math.ceil(timeoutMs));
  try {
    const res = await fetch(`${serverUrl}/api/v1/peers/${name}`, {
      signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
      headers: { accept: 'application/json' },
    });
    if (res.status !== 200) return null;
    const body: unknown = await res.json();
    const peers = parsePeersAnswer(body);
    const dnsReplicas = parseDnsReplicas(body);
    return peers && dnsReplicas ? { peers, dnsReplicas } : null;
  } catch {
    return null;
  }
}

/**
 * The round's peer results without those of peers the fresh list no longer assigns (or assigns at
 * another address): a withdrawn peer is gone from the mesh, not unreachable. No fresh list (the
 * exporter not answering): every result stays. Pure.
 */
export function assignedOnly(probed: readonly PeerOutcome[], probedPeers: readonly Peer[], fresh: readonly Peer[] | null): PeerOutcome[] {
  if (fresh === null) return [...probed];
  const assigned = new Set(fresh.map((p) => `${p.name}@${p.address}`));
  return probed.filter((_, i) => assigned.has(`${probedPeers[i]?.name}@${probedPeers[i]?.address}`));
}

/** The listener's address per family, from IPs (the first one the primary): set only with one of each. */
export function listenByFamily(ips: readonly string[], port: number): ByFamily | null {
  const out: ByFamily = {};
  for (const ip of ips) {
    const bytes = parseIp(ip);
    if (bytes) out[bytes.length === 4 ? 'ipv4' : 'ipv6'] ??= joinHostPort(ip, port);
  }
  return IP_FAMILIES.every((f) => out[f] !== undefined) ? out : null;
}

export const peerProbe: ProbeRow = async ({ config, health, assigned }) => {
  const p = config.probes;
  if (!p.listen) return null;
  const listener = await startListener(p.listen.host, p.listen.port, health);
  const unspecified = p.listen.host === '0.0.0.0' || p.listen.host === '::';
  const found = [firstAddress('IPv4'), listener.dualStack ? firstAddress('IPv6') : null].filter((ip) => ip !== null);
  const ips = p.advertise ?? (unspecified ? found : [p.listen.host]);
  const listen = joinHostPort(ips[0] ?? '127.0.0.1', listener.port);
  const byFamily = listenByFamily(ips, listener.port);
  return {
    async round(limits) {
      const targets = peerTargets(assigned.peers, byFamily);
      const [probed, fresh] = await Promise.all([
        Promise.all(targets.map(({ peer, family }) => probePeer(peer, { ...limits, attempts: p.peerAttempts }, family))),
        fetchPeers(config.serverUrl, config.name, limits),
      ]);
      if (fresh) Object.assign(assigned, fresh);
      const kept = assignedOnly(
        probed,
        targets.map((t) => t.peer),
        fresh?.peers ?? null,
      );
      return { listen, ...(byFamily ? { listen_by_family: byFamily } : {}), peers: kept.map(wirePeer) };
    },
    stop: () => listener.close(),
  };
};
