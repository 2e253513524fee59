// The DNS replica families: per cluster DNS replica (discovery/dns-replicas.ts), how many agents
// passed or failed their last direct query to it, and the median answer time. O(replicas), not
// O(agents): one replica that most agents fail is named (replica, replica_pod, replica_node)
// while lookups through the Service address mostly pass. Counted over agents with a fresh report
// (state ok) that were not starved: a silent or starved agent's timeouts are its own. Pure.

import type { Report } from '../../report/schema.js';
import type { DnsReplica } from '../discovery/dns-replicas.js';
import type { AgentVerdict } from '../verdict/verdict.js';
import { renderRows } from './exposition.js';
import { type Family, gaugeEach } from './family.js';
import { median } from './probes.js';

export const REPLICA_STATUSES = ['ok', 'failing'] as const;

export interface ReplicaView {
  readonly ok: number;
  readonly failing: number;
  /** Median answer time of the agents' queries that were answered, seconds; null when none was. */
  readonly latencySeconds: number | null;
  /** The failing agents' names, for the status page (the series count them only). */
  readonly failingAgents: readonly string[];
}

export const dnsReplicaFamilies: readonly Family<ReplicaView>[] = [
  gaugeEach(
    'netchecker_dns_replica_agents',
    'Agents (fresh, not starved) whose last direct query to this cluster DNS replica was answered ok, or failed (timeout, SERVFAIL, REFUSED, ...).',
    ['status'],
    (v) => REPLICA_STATUSES.map((status) => ({ labels: { status }, value: v[status] })),
  ),
  gaugeEach(
    'netchecker_dns_replica_latency_seconds',
    "Median answer time of the agents' last direct queries to this cluster DNS replica that were answered, in seconds.",
    [],
    (v) => (v.latencySeconds === null ? [] : [{ value: v.latencySeconds }]),
  ),
];

/** Each replica's view over the agents' last reports; agents that did not query a replica do not count for it. Pure. */
export function replicaViews(
  replicas: readonly DnsReplica[],
  agents: readonly AgentVerdict[],
  reportOf: (name: string) => Report | undefined,
): ReplicaView[] {
  const index = new Map(replicas.map((r, i) => [r.address, i]));
  const acc = replicas.map(() => ({ ok: 0, failing: [] as string[], ms: [] as number[] }));
  for (const a of agents) {
    if (a.state !== 'ok') continue;
    const report = reportOf(a.name);
    if (!report?.dnsReplicas || report.integrity?.starved === true) continue;
    for (const q of report.dnsReplicas) {
      const c = acc[index.get(q.address) ?? -1];
      if (!c) continue; // a replica that is gone, or not handed out yet
      if (q.result === 'ok') c.ok++;
      else c.failing.push(a.name);
      if (q.latencyMs !== null) c.ms.push(q.latencyMs);
    }
  }
  return acc.map((c) => {
    const ms = median(c.ms.sort((x, y) => x - y));
    return { ok: c.ok, failing: c.failing.length, latencySeconds: ms === null ? null : ms / 1000, failingAgents: c.failing };
  });
}

/** The families' text for the replicas; empty when there are none. */
export function renderReplicas(replicas: readonly DnsReplica[], views: readonly ReplicaView[]): string {
  const rows = replicas.map((r, i) => [{ replica: r.address, replica_pod: r.pod, replica_node: r.node }, views[i] as ReplicaView] as const);
  return dnsReplicaFamilies.map((f) => renderRows(f, rows)).join('');
}
