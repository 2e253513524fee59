// What --store kubernetes keeps in the API: per agent only what a restarted exporter or another
// replica needs to judge it (node, network, interval, receipt time to the second, and where peers
// reach it) and the state its writer judged it in, grouped by a hash of the agent name into a fixed number of AgentShard objects, so
// the write rate depends on the number of shards, not of agents. Full reports stay in memory.
// Merging two writers' views keeps, per agent, the later receipt. Pure: no I/O, time comes in.

import { parseIp, parsePeerAddress } from '../../report/address.js';
import { isValidAgentName, LIMITS, type Network, NETWORKS, type Report } from '../../report/schema.js';
import { monoFromWall } from './record-codec.js';
import { STATES } from '../verdict/verdict.js';
import type { AgentRecord } from './store.js';

export const GROUP = 'netchecker.io';
export const VERSION = 'v1alpha1';
export const PLURAL = 'agentshards';
export const KIND = 'AgentShard';

/** One agent in a shard, as stored in `spec.agents[name]`. */
export interface ShardEntry {
  readonly node: string;
  /** Absent: the agent did not say (an original agent); its name decides (networkOf). */
  readonly network?: Network;
  readonly intervalSeconds: number;
  /** Wall-clock receipt time of its latest report known to the writer, epoch seconds. */
  readonly receivedAt: number;
  /** Where peers reach it (HOST:PORT), when it said. */
  readonly listen?: string;
  /** The IP its reports came from, when known. */
  readonly source?: string;
  /** The writer's verdict of the agent (verdict.ts's STATES), once it judged one; written as soon as it changes. */
  readonly state?: string;
}

export type Entries = ReadonlyMap<string, ShardEntry>;

/** FNV-1a: the same agent lands in the same shard on every replica and after every restart. */
export function shardIndex(name: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return (h >>> 0) % shards;
}

export function shardName(index: number, shards: number): string {
  const width = String(shards - 1).length;
  return `agents-${String(index).padStart(width, '0')}-of-${shards}`;
}

export function entryOf(r: AgentRecord, state: string | undefined): ShardEntry {
  const { report } = r;
  return {
    node: report.nodeName,
    ...(report.network ? { network: report.network } : {}),
    intervalSeconds: report.intervalSeconds,
    receivedAt: Math.floor(r.receivedWallMs / 1000),
    ...(report.listen ? { listen: report.listen } : {}),
    ...(r.source ? { source: r.source } : {}),
    ...(state ? { state } : {}),
  };
}

/** Same agent identity: what changes only when the agent is moved, restarted or reconfigured. */
export function sameIdentity(a: ShardEntry, b: ShardEntry): boolean {
  return (
    a.node === b.node &&
    a.network === b.network &&
    a.intervalSeconds === b.intervalSeconds &&
    a.listen === b.listen &&
    a.source === b.source
  );
}

export function sameEntry(a: ShardEntry, b: ShardEntry): boolean {
  return a.receivedAt === b.receivedAt && sameIdentity(a, b);
}

/**
 * The stored entries with this writer's changes. A change wins over the stored entry when that
 * entry is still the one the writer saw when its record arrived (`basis`; null: none stored):
 * nobody wrote the agent since, so the record is newer whatever the wall clocks say, which may
 * have been stepped. Otherwise another replica wrote it meanwhile and the later receipt wins (this
 * writer's on a tie: it holds the full report). A pruned agent (tombstone: the receipt time it
 * was pruned at) goes unless someone stored a later receipt meanwhile.
 */
export function mergeEntries(
  stored: Entries,
  mine: Entries,
  tombs: ReadonlyMap<string, number>,
  basis: ReadonlyMap<string, ShardEntry | null>,
): Map<string, ShardEntry> {
  const out = new Map(stored);
  for (const [name, e] of mine) {
    const s = out.get(name);
    if (!s || unchangedSince(s, basis.get(name)) || e.receivedAt >= s.receivedAt) out.set(name, e);
  }
  for (const [name, at] of tombs) {
    const s = out.get(name);
    if (s && s.receivedAt <= at && !mine.has(name)) out.delete(name);
  }
  return out;
}

/** The stored entry is the one the writer saw (undefined: it saw nothing it can vouch for). */
export function unchangedSince(stored: ShardEntry, basis: ShardEntry | null | undefined): boolean {
  return basis !== undefined && basis !== null && sameEntry(stored, basis);
}

/** The object's spec: the entries sorted by name (stable diffs), and what `kubectl get` shows. */
export function shardSpec(entries: Entries, writer: string, nowWallMs: number): Record<string, unknown> {
  const agents: Record<string, ShardEntry> = {};
  for (const name of [...entries.keys()].sort()) agents[name] = entries.get(name) as ShardEntry;
  const notOkCount = [...entries.values()].filter((e) => e.state !== undefined && e.state !== 'ok').length;
  return { agentCount: entries.size, notOkCount, writer, updatedAt: new Date(nowWallMs).toISOString().replace(/\.\d+Z$/, 'Z'), agents };
}

/** The entries of an object's spec; invalid ones are skipped and counted (the API validates too, but data outlives schemas). */
export function decodeEntries(spec: unknown): { entries: Map<string, ShardEntry>; invalid: number } {
  const entries = new Map<string, ShardEntry>();
  let invalid = 0;
  const agents = (spec as { agents?: unknown } | null | undefined)?.agents;
  if (typeof agents !== 'object' || agents === null) return { entries, invalid };
  for (const [name, raw] of Object.entries(agents as Record<string, unknown>)) {
    const e = decodeEntry(raw);
    if (e && isValidAgentName(name)) entries.set(name, e);
    else invalid++;
  }
  return { entries, invalid };
}

function decodeEntry(raw: unknown): ShardEntry | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const o = raw as Record<string, unknown>;
  const { node, network, intervalSeconds, receivedAt, listen, source, state } = o;
  const { min, max } = LIMITS.intervalSeconds;
  if (typeof node !== 'string' || node.length > LIMITS.nameMaxLength) return null;
  if (network !== undefined && !NETWORKS.includes(network as Network)) return null;
  if (typeof intervalSeconds !== 'number' || !Number.isInteger(intervalSeconds) || intervalSeconds < min || intervalSeconds > max)
    return null;
  if (typeof receivedAt !== 'number' || !Number.isInteger(receivedAt) || receivedAt <= 0) return null;
  if (listen !== undefined && (typeof listen !== 'string' || listen.length > LIMITS.nameMaxLength || !parsePeerAddress(listen)))
    return null;
  if (source !== undefined && (typeof source !== 'string' || !parseIp(source))) return null;
  if (state !== undefined && !(STATES as readonly unknown[]).includes(state)) return null;
  return {
    node,
    ...(network ? { network: network as Network } : {}),
    intervalSeconds,
    receivedAt,
    ...(listen ? { listen } : {}),
    ...(source ? { source } : {}),
    ...(state ? { state: state as string } : {}),
  };
}

/**
 * An agent known from the API only: a report with what the entry holds and nothing measured
 * (the full report stays with the replica that received it), received at the entry's time.
 */
export function recordFromEntry(name: string, e: ShardEntry, nowMonoMs: number, nowWallMs: number): AgentRecord {
  const report: Report = {
    intervalSeconds: e.intervalSeconds,
    nodeName: e.node,
    podName: name,
    hostDate: null,
    hostDateMs: null,
    uptimeSeconds: null,
    nslookup: null,
    ips: null,
    probes: null,
    network: e.network ?? null,
    agentVersion: null,
    agentStartedMs: null,
    listen: e.listen ?? null,
  };
  const receivedWallMs = e.receivedAt * 1000;
  return { name, report, receivedWallMs, receivedMonoMs: monoFromWall(receivedWallMs, nowMonoMs, nowWallMs), source: e.source ?? null };
}
