// Peer probe: a few HTTP round trips to an assigned peer's listener (agent/listener.ts), each on
// a fresh connection, sent together; how many got no answer is the loss, the fastest answer is
// the RTT. The row serves this agent's own listener (--listen), probes the peers assigned last
// round and fetches the list for the next one (GET /api/v1/peers/{name}). Never throws.

import os from 'node:os';
import { joinHostPort } from '../../report/address.js';
import { parseDnsReplicas, parsePeersAnswer, type Peer } from '../../report/answers.js';
import { wirePeer } from '../../report/encode.js';
import type { Network } from '../../report/schema.js';
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
}

export interface PeerProbeOptions extends ProbeLimits {
  readonly attempts: number;
}

/** ok when at least one attempt answered, else the first attempt's class. */
export async function probePeer(peer: Peer, { timeoutMs, attempts, signal }: PeerProbeOptions): Promise<PeerOutcome> {
  const url = `http://${peer.address}/`;
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

/** First non-internal IPv4 address of the machine (or network namespace). */
function firstAddress(): string | null {
  for (const infos of Object.values(os.networkInterfaces()))
    for (const i of infos ?? []) if (!i.internal && i.family === 'IPv4') return i.address;
  return null;
}

export const peerProbe: ProbeRow = async ({ config, health, assigned }) => {
  const p = config.probes;
  if (!p.listen) return null;
  const listener = await startListener(p.listen.host, p.listen.port, health);
  const unspecified = p.listen.host === '0.0.0.0' || p.listen.host === '::';
  const host = p.advertise ?? (unspecified ? firstAddress() : p.listen.host) ?? '127.0.0.1';
  const listen = joinHostPort(host, listener.port);
  return {
    async round(limits) {
      const peers = assigned.peers;
      const [probed, fresh] = await Promise.all([
        Promise.all(peers.map((peer) => probePeer(peer, { ...limits, attempts: p.peerAttempts }))),
        fetchPeers(config.serverUrl, config.name, limits),
      ]);
      if (fresh) Object.assign(assigned, fresh);
      return { listen, peers: assignedOnly(probed, peers, fresh?.peers ?? null).map(wirePeer) };
    },
    stop: () => listener.close(),
  };
};
