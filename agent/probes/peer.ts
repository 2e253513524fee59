// Peer probe: a few HTTP round trips to an assigned peer's listener (agent/listener.ts), each on
// a fresh connection, sent together; how many got no answer is the loss, the fastest answer is
// the RTT. Also fetches the peer list the exporter assigns (GET /api/v1/peers/{name}). Never throws.

import { parsePeersAnswer, type Peer } from '../../report/answers.js';
import type { Network, ResultClass } from '../../report/schema.js';
import { probeHttp } from './http.js';

export interface PeerOutcome {
  readonly name: string;
  readonly node: string;
  readonly network: Network;
  /** ok when at least one attempt answered, else the first attempt's class. */
  readonly result: ResultClass;
  readonly sent: number;
  readonly lost: number;
  /** Fastest answered round trip (connect + request + response), ms; null when none answered. */
  readonly rttMs: number | null;
}

export interface PeerProbeOptions {
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly signal?: AbortSignal;
}

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

/** The agent's assigned peers; null when the exporter cannot be asked or answers nonsense. */
export async function fetchPeers(serverUrl: string, name: string, timeoutMs: number): Promise<Peer[] | null> {
  try {
    const res = await fetch(`${serverUrl}/api/v1/peers/${name}`, { signal: AbortSignal.timeout(Math.ceil(timeoutMs)), headers: { accept: 'application/json' } });
    if (res.status !== 200) return null;
    return parsePeersAnswer(await res.json());
  } catch {
    return null;
  }
}
