// The status page's data (GET /api/v1/status): the verdict as connectivity_check gives it, one
// row per node with its agents, the peer mesh per path and the recent state changes. Built from a
// verdict, the stored records and the transitions, once per verdict (api/status.ts); no I/O.

import type { Network } from '../../report/schema.js';
import type { DnsReplica } from '../discovery/dns-replicas.js';
import { replicaViews } from '../metrics/dns-replicas.js';
import { clockOffsetSeconds } from '../metrics/families.js';
import type { AgentRecord } from '../store/store.js';
import { agentDetail, compatAnswer } from '../verdict/answer.js';
import { type AgentVerdict, STATES, type State, type Verdict } from '../verdict/verdict.js';
import type { Transition } from './transitions.js';

/** The four paths of the mesh, as `from->to` networks; a link's `path` indexes this. */
export const PATHS: readonly string[] = ['pod->pod', 'host->host', 'pod->host', 'host->pod'] satisfies `${Network}->${Network}`[];

/** State changes the page gets: the newest of the ring. */
export const TRANSITIONS_SHOWN = 100;

/** connectivity_check's detail of the agent, and what its last report says. */
export interface AgentRow extends ReturnType<typeof agentDetail> {
  /** DNS queries of the last report: how many, how many failed, the first failure's class, the slowest answer. */
  readonly dns: { queries: number; failed: number; worst: string | null; max_latency_ms: number | null } | null;
  readonly path_mtu_bytes: { exporter: number | null; peers: number | null } | null;
  readonly clock_offset_seconds: number | null;
  /** API server checks of the last report: how many, how many failed, the first failure as "via result", the slowest answer. */
  readonly api_server: { checks: number; failed: number; worst: string | null; max_latency_ms: number | null } | null;
  /** --must-be-blocked targets of the last report: how many, and those that answered (open: a policy failure). */
  readonly must_be_blocked: { targets: number; open: readonly string[] } | null;
}

export interface StatusBody {
  readonly generated_at: string;
  /** connectivity_check's HTTP status and compat answer, or its 500 error text. */
  readonly check:
    | { http_status: number; Message: string; Absent: readonly string[] | null; Outdated: readonly string[] | null }
    | { http_status: 500; error: string };
  /** connectivity_check's `families`: which IP family is broken; null without a dual-stack agent. */
  readonly families: Verdict['families'];
  readonly counts: Record<State, number>;
  readonly failing: ReadonlyArray<{ name: string; node: string; network: Network; state: State; reason: string }>;
  readonly nodes: ReadonlyArray<{ node: string; agents: readonly AgentRow[] }>;
  /**
   * Peer results of agents with a fresh report (state ok): links [from, to, path, result, rtt_ms,
   * sent, lost], from and to index `nodes`, path indexes `paths`, result indexes `results`.
   */
  readonly mesh: {
    nodes: readonly string[];
    paths: readonly string[];
    results: readonly string[];
    links: ReadonlyArray<readonly (number | null)[]>;
  };
  /** Per cluster DNS replica: agents whose direct query passed or failed (the first names of those that failed). */
  readonly dns_replicas: ReadonlyArray<{
    replica: string;
    pod: string;
    node: string;
    ok: number;
    failing: number;
    latency_ms: number | null;
    failing_agents: readonly string[];
  }>;
  readonly transitions: ReadonlyArray<{
    agent: string;
    node: string;
    network: Network;
    from: State;
    to: State;
    reason: string;
    at: string;
  }>;
}

export interface StatusInput {
  readonly verdict: Verdict;
  readonly record: (name: string) => AgentRecord | undefined;
  readonly transitions: readonly Transition[];
  /** connectivity_check's 500 text, null when the verdict stands. */
  readonly checkError: string | null;
  readonly nowWallMs: number;
  /** The cluster DNS replicas; none: an empty list. */
  readonly dnsReplicas?: readonly DnsReplica[];
}

/** Failing agents named per replica: enough to see a pattern (one node, one network). */
export const REPLICA_AGENTS_SHOWN = 10;

/** What one stored report adds to the body, cached per record object (a new report is a new object). */
interface Fragments {
  readonly generation: number;
  readonly node: string;
  readonly network: Network;
  /** The row's report part: `"dns":...,"path_mtu_bytes":...,"clock_offset_seconds":...,"api_server":...,"must_be_blocked":...`. */
  readonly report: string;
  /** The agent's links, comma-separated, with node and result indexes of this generation. */
  readonly links: string;
}

/**
 * Builds the body as JSON text. At 10,000 agents the mesh has 100,000 links: each record's links
 * and report part are serialized once per record (a WeakMap on the record), with node and
 * result indexes that stay put between builds, so a build after one new report mostly joins
 * strings. Indexes start over (a new generation) when gone nodes make up half of them.
 */
export class StatusText {
  #generation = 0;
  #nodes = new Map<string, number>();
  #results = new Map<string, number>();
  readonly #fragments = new WeakMap<AgentRecord, Fragments>();

  build(input: StatusInput): string {
    const { verdict } = input;
    const counts = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<State, number>;
    const byNode = new Map<string, string[]>();
    const failingNames = new Set([...verdict.absent, ...verdict.outdated]);
    const failing: Array<StatusBody['failing'][number]> = [];
    for (const a of verdict.agents) if (!byNode.has(a.node)) byNode.set(a.node, []);
    if (this.#nodes.size > 2 * byNode.size + 100) this.#restart();
    const links: string[] = [];
    for (const a of verdict.agents) {
      counts[a.state]++;
      if (failingNames.has(a.name)) failing.push({ name: a.name, node: a.node, network: a.network, state: a.state, reason: a.reason });
      const record = input.record(a.name);
      const f = record ? this.#fragmentsOf(record, a) : null;
      const detail = JSON.stringify(agentDetail(a));
      (byNode.get(a.node) as string[]).push(`${detail.slice(0, -1)},${f ? f.report : NO_REPORT}}`);
      if (a.state === 'ok' && f && f.links) links.push(f.links);
    }
    const nodes = [...byNode.keys()]
      .sort()
      .map((node) => `{"node":${JSON.stringify(node)},"agents":[${(byNode.get(node) as string[]).join(',')}]}`);
    const check =
      input.checkError !== null
        ? { http_status: 500, error: input.checkError }
        : { http_status: verdict.pass ? 200 : 400, ...compatAnswer(verdict) };
    const transitions = input.transitions.map((t) => ({
      agent: t.agent,
      node: t.node,
      network: t.network,
      from: t.from,
      to: t.to,
      reason: t.reason,
      at: new Date(t.atWallMs).toISOString(),
    }));
    const replicas = input.dnsReplicas ?? [];
    const views = replicaViews(replicas, verdict.agents, (name) => input.record(name)?.report);
    const dnsReplicas: StatusBody['dns_replicas'] = replicas.map((r, i) => {
      const v = views[i] as (typeof views)[number];
      const latency = v.latencySeconds === null ? null : Math.round(v.latencySeconds * 1e6) / 1000;
      return {
        replica: r.address,
        pod: r.pod,
        node: r.node,
        ok: v.ok,
        failing: v.failing,
        latency_ms: latency,
        failing_agents: v.failingAgents.slice(0, REPLICA_AGENTS_SHOWN),
      };
    });
    return (
      `{"generated_at":${JSON.stringify(new Date(input.nowWallMs).toISOString())},"check":${JSON.stringify(check)},"families":${JSON.stringify(verdict.families)},"counts":${JSON.stringify(counts)},` +
      `"failing":${JSON.stringify(failing)},"nodes":[${nodes.join(',')}],` +
      `"mesh":{"nodes":${JSON.stringify([...this.#nodes.keys()])},"paths":${JSON.stringify(PATHS)},"results":${JSON.stringify([...this.#results.keys()])},"links":[${links.join(',')}]},` +
      `"dns_replicas":${JSON.stringify(dnsReplicas)},"transitions":${JSON.stringify(transitions)}}`
    );
  }

  #restart(): void {
    this.#generation++;
    this.#nodes = new Map();
    this.#results = new Map();
  }

  #fragmentsOf(record: AgentRecord, a: AgentVerdict): Fragments {
    const cached = this.#fragments.get(record);
    if (cached && cached.generation === this.#generation && cached.node === a.node && cached.network === a.network) return cached;
    const r = record.report;
    const from = indexOf(this.#nodes, a.node);
    const links = (r.peers ?? [])
      .map(
        (p) =>
          `[${from},${indexOf(this.#nodes, p.node)},${PATHS.indexOf(`${a.network}->${p.network}`)},${indexOf(this.#results, p.result)},${p.rttMs === null ? null : Math.round(p.rttMs * 1000) / 1000},${p.sent},${p.lost}]`,
      )
      .join(',');
    const f = { generation: this.#generation, node: a.node, network: a.network, report: reportPart(record), links };
    this.#fragments.set(record, f);
    return f;
  }
}

function indexOf(m: Map<string, number>, key: string): number {
  let i = m.get(key);
  if (i === undefined) m.set(key, (i = m.size));
  return i;
}

const NO_REPORT = '"dns":null,"path_mtu_bytes":null,"clock_offset_seconds":null,"api_server":null,"must_be_blocked":null';

function reportPart(record: AgentRecord): string {
  const r = record.report;
  let dns: AgentRow['dns'] = null;
  if (r.dns) {
    const failed = r.dns.filter((q) => q.result !== 'ok');
    const latencies = r.dns.map((q) => q.latencyMs).filter((l): l is number => l !== null);
    dns = {
      queries: r.dns.length,
      failed: failed.length,
      worst: failed[0]?.result ?? null,
      max_latency_ms: latencies.length ? Math.max(...latencies) : null,
    };
  }
  const mtu = r.pathMtu ? { exporter: r.pathMtu.exporterBytes, peers: r.pathMtu.peersBytes } : null;
  let api: AgentRow['api_server'] = null;
  if (r.apiServer) {
    const failed = r.apiServer.filter((c) => c.result !== 'ok');
    const latencies = r.apiServer.map((c) => c.latencyMs).filter((l): l is number => l !== null);
    const first = failed[0];
    api = {
      checks: r.apiServer.length,
      failed: failed.length,
      worst: first ? `${first.via} ${first.result}` : null,
      max_latency_ms: latencies.length ? Math.max(...latencies) : null,
    };
  }
  const blocked: AgentRow['must_be_blocked'] = r.mustBeBlocked
    ? { targets: r.mustBeBlocked.length, open: r.mustBeBlocked.filter((c) => c.result === 'ok').map((c) => c.target) }
    : null;
  return (
    `"dns":${JSON.stringify(dns)},"path_mtu_bytes":${JSON.stringify(mtu)},"clock_offset_seconds":${JSON.stringify(clockOffsetSeconds(record))},` +
    `"api_server":${JSON.stringify(api)},"must_be_blocked":${JSON.stringify(blocked)}`
  );
}
