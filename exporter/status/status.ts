// The status page's data (GET /api/v1/status): the verdict as connectivity_check gives it, one
// row per node with its agents, the peer mesh per path and the recent state changes. Pure: built
// from a verdict, the stored records and the transitions, once per verdict (api/status.ts).

import type { Network } from '../../report/schema.js';
import { compatAnswer } from '../api/check.js';
import { clockOffsetSeconds } from '../metrics/families.js';
import type { AgentRecord } from '../store/store.js';
import { type AgentVerdict, STATES, type State, type Verdict } from '../verdict/verdict.js';
import type { Transition } from './transitions.js';

/** The four paths of the mesh, as `from->to` networks; a link's `path` indexes this. */
export const PATHS: readonly string[] = ['pod->pod', 'host->host', 'pod->host', 'host->pod'] satisfies `${Network}->${Network}`[];

/** State changes the page gets: the newest of the ring. */
export const TRANSITIONS_SHOWN = 100;

export interface AgentRow {
  readonly name: string;
  readonly network: Network;
  readonly state: State;
  readonly reason: string;
  readonly expected: boolean;
  readonly last_report_age_seconds: number | null;
  readonly report_interval_seconds: number | null;
  /** DNS queries of the last report: how many, how many failed, the first failure's class, the slowest answer. */
  readonly dns: { queries: number; failed: number; worst: string | null; max_latency_ms: number | null } | null;
  readonly path_mtu_bytes: { exporter: number | null; peers: number | null } | null;
  readonly clock_offset_seconds: number | null;
}

export interface StatusBody {
  readonly generated_at: string;
  /** connectivity_check's HTTP status and compat answer, or its 500 error text. */
  readonly check: { http_status: number; Message: string; Absent: readonly string[] | null; Outdated: readonly string[] | null } | { http_status: 500; error: string };
  readonly counts: Record<State, number>;
  readonly failing: ReadonlyArray<{ name: string; node: string; network: Network; state: State; reason: string }>;
  readonly nodes: ReadonlyArray<{ node: string; agents: readonly AgentRow[] }>;
  /**
   * Peer results of agents with a fresh report (state ok): links [from, to, path, result, rtt_ms,
   * sent, lost], from and to index `nodes`, path indexes `paths`, result indexes `results`.
   */
  readonly mesh: { nodes: readonly string[]; paths: readonly string[]; results: readonly string[]; links: ReadonlyArray<readonly (number | null)[]> };
  readonly transitions: ReadonlyArray<{ agent: string; node: string; network: Network; from: State; to: State; reason: string; at: string }>;
}

export interface StatusInput {
  readonly verdict: Verdict;
  readonly record: (name: string) => AgentRecord | undefined;
  readonly transitions: readonly Transition[];
  /** connectivity_check's 500 text, null when the verdict stands. */
  readonly checkError: string | null;
  readonly nowWallMs: number;
}

export function buildStatus(input: StatusInput): StatusBody {
  const { verdict } = input;
  const counts = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<State, number>;
  const byNode = new Map<string, AgentRow[]>();
  const failingNames = new Set([...verdict.absent, ...verdict.outdated]);
  const failing: Array<StatusBody['failing'][number]> = [];
  const meshNodes = new Map<string, number>();
  const results = new Map<string, number>();
  const links: Array<Array<number | null>> = [];
  const indexOf = (m: Map<string, number>, key: string): number => {
    let i = m.get(key);
    if (i === undefined) m.set(key, (i = m.size));
    return i;
  };
  for (const a of verdict.agents) {
    counts[a.state]++;
    if (failingNames.has(a.name)) failing.push({ name: a.name, node: a.node, network: a.network, state: a.state, reason: a.reason });
    const record = input.record(a.name);
    let rows = byNode.get(a.node);
    if (!rows) byNode.set(a.node, (rows = []));
    rows.push(agentRow(a, record));
    if (a.state !== 'ok' || !record?.report.peers) continue;
    const from = indexOf(meshNodes, a.node);
    for (const p of record.report.peers) {
      links.push([from, indexOf(meshNodes, p.node), PATHS.indexOf(`${a.network}->${p.network}`), indexOf(results, p.result), p.rttMs === null ? null : Math.round(p.rttMs * 1000) / 1000, p.sent, p.lost]);
    }
  }
  const nodes = [...byNode].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([node, agents]) => ({ node, agents }));
  return {
    generated_at: new Date(input.nowWallMs).toISOString(),
    check: input.checkError !== null ? { http_status: 500, error: input.checkError } : { http_status: verdict.pass ? 200 : 400, ...compatAnswer(verdict) },
    counts,
    failing,
    nodes,
    mesh: { nodes: [...meshNodes.keys()], paths: PATHS, results: [...results.keys()], links },
    transitions: input.transitions.map((t) => ({ agent: t.agent, node: t.node, network: t.network, from: t.from, to: t.to, reason: t.reason, at: new Date(t.atWallMs).toISOString() })),
  };
}

function agentRow(a: AgentVerdict, record: AgentRecord | undefined): AgentRow {
  const r = record?.report;
  let dns: AgentRow['dns'] = null;
  if (r?.dns) {
    const failed = r.dns.filter((q) => q.result !== 'ok');
    const latencies = r.dns.map((q) => q.latencyMs).filter((l): l is number => l !== null);
    dns = { queries: r.dns.length, failed: failed.length, worst: failed[0]?.result ?? null, max_latency_ms: latencies.length ? Math.max(...latencies) : null };
  }
  return {
    name: a.name,
    network: a.network,
    state: a.state,
    reason: a.reason,
    expected: a.expected,
    last_report_age_seconds: a.lastReportAgeSeconds === null ? null : Math.round(a.lastReportAgeSeconds * 1000) / 1000,
    report_interval_seconds: a.intervalSeconds,
    dns,
    path_mtu_bytes: r?.pathMtu ? { exporter: r.pathMtu.exporterBytes, peers: r.pathMtu.peersBytes } : null,
    clock_offset_seconds: record ? clockOffsetSeconds(record) : null,
  };
}
