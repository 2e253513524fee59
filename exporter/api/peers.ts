// GET /api/v1/peers/{name}: the peers an agent probes, so agents never call the Kubernetes API.
// The assignment covers every stored agent that advertised a listener; it is recomputed at most
// once per second (O(N log N)), never per request: a new agent gets its peers a second later.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { isValidAgentName } from '../../report/schema.js';
import type { Clock, Monitor } from '../monitor.js';
import { assignPeers, type PeerCandidate } from '../peers/assign.js';
import type { Store } from '../store/store.js';
import { sendError } from './errors.js';
import { sendJson } from './respond.js';

/** The answer's shape; the agent validates it (agent/probes/peer.ts). */
export interface PeersAnswer {
  peers: PeerCandidate[];
}

const RECOMPUTE_MS = 1000;

export function peersHandler(monitor: Monitor, store: Store, meshPeers: number, clock: Clock) {
  let cached: { atMonoMs: number; peers: Map<string, PeerCandidate[]> } | null = null;

  const assignment = (): Map<string, PeerCandidate[]> => {
    const now = clock.monoMs();
    if (cached && now - cached.atMonoMs < RECOMPUTE_MS) return cached.peers;
    const verdict = monitor.verdict();
    const candidates: PeerCandidate[] = [];
    for (const a of verdict.agents) {
      const address = store.get(a.name)?.report.listen;
      if (address) candidates.push({ name: a.name, node: a.node, network: a.network, address });
    }
    cached = { atMonoMs: now, peers: assignPeers(candidates, meshPeers) };
    return cached.peers;
  };

  return (_req: IncomingMessage, res: ServerResponse, name: string): void => {
    if (!isValidAgentName(name)) return sendError(res, 'invalid_agent_name');
    // An agent not stored yet (or without a listener) has no peers yet: an empty list, not 404.
    const answer: PeersAnswer = { peers: assignment().get(name) ?? [] };
    sendJson(res, 200, answer);
  };
}
