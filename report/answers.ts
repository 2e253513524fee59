// The exporter's answers that other programs read, declared once with their validators: the
// peers an agent probes (GET /api/v1/peers/{name}, read by our agent) and connectivity_check
// (read by `netchecker check`, and by scripts written for the original server). The side that
// writes and the side that reads share these types. Pure: no I/O.

import { parseByFamily, parsePeerAddress } from './address.js';
import { type ByFamily, IP_FAMILIES, type IpFamily, isValidAgentName, LIMITS, NETWORKS, type Network } from './schema.js';

/** One assigned peer: where an agent reaches another agent's listener. */
export interface Peer {
  readonly name: string;
  readonly node: string;
  readonly network: Network;
  /** IP:PORT of the peer's listener (report/address.ts), never a host name. */
  readonly address: string;
  /**
   * The listener per family, when the peer is dual-stack (an optional key: agents that do not know
   * it probe `address` alone, as before). A dual-stack prober probes each family both have.
   */
  readonly address_by_family?: ByFamily;
}

export interface PeersAnswer {
  readonly peers: readonly Peer[];
  /**
   * IP:PORT of each cluster DNS replica (an endpoint of the DNS Service) the agent queries
   * directly; absent when the exporter knows none. Optional: older agents ignore it.
   */
  readonly dns_replicas?: readonly string[];
}

/** Validates a peers answer: a peer list is external input like any other. */
export function parsePeersAnswer(body: unknown): Peer[] | null {
  const peers = typeof body === 'object' && body !== null && 'peers' in body ? body.peers : undefined;
  if (!Array.isArray(peers) || peers.length > LIMITS.peersMax) return null;
  const out: Peer[] = [];
  for (const p of peers as unknown[]) {
    if (typeof p !== 'object' || p === null) return null;
    const { name, node, network, address, address_by_family } = p as Record<string, unknown>;
    if (typeof name !== 'string' || !isValidAgentName(name) || typeof node !== 'string' || node.length > LIMITS.nameMaxLength) return null;
    // IP:PORT only, as the exporter accepts them: a host name could point the probes anywhere.
    if (!NETWORKS.includes(network as Network) || typeof address !== 'string' || parsePeerAddress(address) === null) return null;
    const byFamily = address_by_family == null ? undefined : parseByFamily(address_by_family);
    if (byFamily === null) return null;
    out.push({ name, node, network: network as Network, address, ...(byFamily ? { address_by_family: byFamily } : {}) });
  }
  return out;
}

/**
 * Validates the answer's DNS replica list: absent reads as none; anything else but a short list of
 * IP:PORT, each once, is nonsense (null), as a replica address is where the agent sends queries.
 */
export function parseDnsReplicas(body: unknown): string[] | null {
  const list = typeof body === 'object' && body !== null && 'dns_replicas' in body ? body.dns_replicas : undefined;
  if (list === undefined) return [];
  if (!Array.isArray(list) || list.length > LIMITS.dnsReplicasMax) return null;
  const out = list.filter((a): a is string => typeof a === 'string' && parsePeerAddress(a) !== null);
  return out.length === list.length && new Set(out).size === out.length ? out : null;
}

/**
 * What the mesh says of one IP family: `ok` (every probe over it answered in the last round),
 * `failing` (one did not), `unknown` (no fresh evidence: no fresh report, or no probe over it).
 */
export const FAMILY_STATES = ['ok', 'failing', 'unknown'] as const;
export type FamilyState = (typeof FAMILY_STATES)[number];

/** One IP family of one dual-stack agent: its own probes over the family and those of its probers. */
export interface CheckFamily {
  readonly state: FamilyState;
  /** One sentence for a person: the counts behind the state, or what evidence is missing. */
  readonly reason: string;
  /** Nodes this agent failed to reach, or whose agents failed to reach it, over the family. */
  readonly failing_nodes: readonly string[];
}

/** One IP family over the whole answer: its worst state among the dual-stack agents the check judges. */
export interface CheckFamilySummary {
  readonly state: FamilyState;
  readonly reason: string;
  readonly failing_agents: readonly string[];
  readonly unknown_agents: readonly string[];
}

/** One agent in connectivity_check's per-agent list (ours; the original server had none). */
export interface CheckAgent {
  name: string;
  node: string;
  network: string;
  state: string;
  reason: string;
  expected: boolean;
  last_report_age_seconds: number | null;
  report_interval_seconds: number | null;
  /** Per IP family, for a dual-stack agent only (an address of each); absent otherwise. */
  families?: Readonly<Record<IpFamily, CheckFamily>>;
}

/** connectivity_check's body: the original's three keys, in order, null on pass; then ours. */
export interface CheckWire {
  readonly Message: string;
  readonly Absent: readonly string[] | null;
  readonly Outdated: readonly string[] | null;
  /** Only when some agent is dual-stack: which family is broken. Never changes the status code. */
  readonly families?: Readonly<Record<IpFamily, CheckFamilySummary>>;
  readonly agents: readonly CheckAgent[];
}

/** A check answer as a reader uses it: lists never null, agents empty from the original server. */
export interface CheckAnswer {
  message: string;
  absent: string[];
  outdated: string[];
  /** Empty without dual-stack agents (and from the original server). */
  families: Partial<Record<IpFamily, CheckFamilySummary>>;
  agents: CheckAgent[];
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** Validates a connectivity_check body: the three compat keys, and our per-agent list when present. */
export function parseCheckAnswer(body: string): CheckAnswer | null {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.Message !== 'string') return null;
  const absent = o.Absent ?? [];
  const outdated = o.Outdated ?? [];
  if (!isStrings(absent) || !isStrings(outdated)) return null;
  const agents = Array.isArray(o.agents)
    ? o.agents.filter(
        (a): a is CheckAgent =>
          typeof a === 'object' && a !== null && typeof (a as CheckAgent).name === 'string' && typeof (a as CheckAgent).state === 'string',
      )
    : [];
  // A family summary that is not one is left out, as a malformed agent is: the verdict stands on the three keys.
  const families: CheckAnswer['families'] = {};
  const given = typeof o.families === 'object' && o.families !== null ? (o.families as Record<string, unknown>) : {};
  for (const f of IP_FAMILIES) if (isFamilySummary(given[f])) families[f] = given[f];
  return { message: o.Message, absent, outdated, families, agents };
}

function isFamilySummary(v: unknown): v is CheckFamilySummary {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return (
    FAMILY_STATES.includes(s.state as FamilyState) &&
    typeof s.reason === 'string' &&
    isStrings(s.failing_agents) &&
    isStrings(s.unknown_agents)
  );
}
