// The probe families (DNS, peers, ICMP, path MTU, integrity, the exporter probe; the API server
// and must-be-blocked paths in their own files) as data, plus
// ProbeMetrics: the per-agent state they need (DNS counters, who reached whom) and the RTT
// histograms per network pair. O(N): a constant number of series per agent; the only per-pair
// series (netchecker_agent_peer_unreachable) exist while that pair fails. Loss and round trip are
// also given per TARGET agent (what its probers saw), so that one bad node is one alert, not one
// per prober. Dual-stack agents (a listener address of each family) get a `family` label on the
// peer series, theirs and their probers' (a constant 8 more series), and on the DNS series when
// their DNS queries carry a family (8 more); single-stack ones do not.
// Pure: no I/O.

import { dualStackPrimary } from '../../report/address.js';
import {
  DNS_RESULTS,
  type DnsQuery,
  type DnsResult,
  IP_FAMILIES,
  type IpFamily,
  NETWORKS,
  type Network,
  networkOf,
  type PeerResult,
  type Probe,
  type Report,
} from '../../report/schema.js';
import type { AgentRecord } from '../store/store.js';
import { apiServerFamilies } from './api-server.js';
import { blockedFamilies } from './blocked.js';
import { type Exposition, SeriesCache } from './exposition.js';
import { type Family, formatLabels, formatValue, gauge, gaugeEach, type Sample } from './family.js';

export const PEER_STATUSES = ['reachable', 'unreachable'] as const;
export const MTU_TARGETS = ['exporter', 'peers'] as const;
export const EXPORTER_PHASES = ['dns', 'connect', 'tls', 'first_byte', 'transfer', 'total'] as const;
/** Upper bounds of the RTT histogram, seconds: sub-millisecond LAN up to a 2.5 s stall. */
export const RTT_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

/** What the other agents saw of one agent in their last round. */
export interface ProbedBy {
  readonly reachable: number;
  readonly unreachable: number;
  /** Unanswered / sent probes of the probers that were not starved; null when none sent any. */
  readonly lossRatio: number | null;
  /** Median of those probers' fastest round trips, seconds; null when none answered. */
  readonly rttSeconds: number | null;
  /** Reached or not per family, for a dual-stack agent; null for a single-stack one. */
  readonly byFamily: Readonly<Record<IpFamily, { readonly reachable: number; readonly unreachable: number }>> | null;
}

/** DNS queries counted per result: all of a single-stack agent's, or per family of a dual-stack one. */
export type DnsCounts = Partial<Record<'all' | IpFamily, Record<DnsResult, number>>>;

/** What the probe families read for one agent. */
export interface ProbeView {
  readonly report: Report;
  readonly dnsCounts: Readonly<DnsCounts>;
  /** Null when the agent has no listener, so it is nobody's peer. */
  readonly probedBy: ProbedBy | null;
}

/** Per family for a dual-stack agent (a `family` label), else once without it. */
function perFamily(r: Report, samples: (family: IpFamily | null) => Sample[]): Sample[] {
  if (dualStackPrimary(r) === null) return samples(null);
  return IP_FAMILIES.flatMap((family) => samples(family).map((s) => ({ ...s, labels: { ...s.labels, family } })));
}

/**
 * The families of a dual-stack agent's DNS queries (they carry `family`), else [null]: one set of
 * DNS series without the label, as before. A query without a family in such a report was an A query.
 */
const dnsFamilies = (r: Report): ReadonlyArray<IpFamily | null> => (r.dns?.some((q) => q.family != null) ? IP_FAMILIES : [null]);
const dnsFamilyOf = (q: DnsQuery): IpFamily => q.family ?? 'ipv4';
const dnsQueries = (r: Report, family: IpFamily | null): readonly DnsQuery[] =>
  family === null ? (r.dns ?? []) : (r.dns ?? []).filter((q) => dnsFamilyOf(q) === family);
const familyLabel = (family: IpFamily | null): Record<string, string> => (family === null ? {} : { family });

const each = (
  name: string,
  help: string,
  labels: readonly string[],
  type: 'gauge' | 'counter',
  samples: (v: ProbeView) => readonly Sample[],
): Family<ProbeView> => (type === 'gauge' ? gaugeEach(name, help, labels, samples) : { name, help, type, extraLabels: labels, samples });

/** Our agent's probe of the exporter's /api/v1/ping (sent last, with phases); the original's has none. */
function exporterProbe(r: Report): Probe | undefined {
  const probes = r.probes ?? [];
  for (let i = probes.length - 1; i >= 0; i--) {
    const p = probes[i] as Probe;
    if (p.url.endsWith('/api/v1/ping')) return p.phasesMs ? p : undefined;
  }
  return undefined;
}

/** A peer result without a family (a pair probed once, at the peer's primary address) counts there. */
const familyOfResult = (p: PeerResult, primary: IpFamily): IpFamily => p.family ?? primary;

function peersBy(
  r: Report,
  network: Network,
  family: IpFamily | null,
): { reachable: number; unreachable: number; sent: number; lost: number } {
  const out = { reachable: 0, unreachable: 0, sent: 0, lost: 0 };
  const primary = dualStackPrimary(r);
  for (const p of r.peers ?? []) {
    if (p.network !== network) continue;
    if (family !== null && primary !== null && familyOfResult(p, primary) !== family) continue;
    if (p.result === 'ok') out.reachable++;
    else out.unreachable++;
    out.sent += p.sent;
    out.lost += p.lost;
  }
  return out;
}

export const probeFamilies: readonly Family<ProbeView>[] = [
  each(
    'netchecker_agent_dns_up',
    "Whether every DNS query of the agent's last round (of each family, for a dual-stack agent) was answered ok (1) or not (0).",
    ['family'],
    'gauge',
    (v) =>
      dnsFamilies(v.report).flatMap((family) => {
        const queries = dnsQueries(v.report, family);
        return queries.length === 0 ? [] : [{ labels: familyLabel(family), value: queries.every((q) => q.result === 'ok') ? 1 : 0 }];
      }),
  ),
  each(
    'netchecker_agent_dns_queries_total',
    'DNS queries the agent made since the exporter started, by result class (and family, for a dual-stack agent).',
    ['result', 'family'],
    'counter',
    (v) =>
      v.report.dns
        ? dnsFamilies(v.report).flatMap((family) => {
            const counts = v.dnsCounts[family ?? 'all'] ?? NO_QUERIES;
            return DNS_RESULTS.map((result) => ({ labels: { result, ...familyLabel(family) }, value: counts[result] }));
          })
        : [],
  ),
  each(
    'netchecker_agent_dns_latency_seconds',
    "Slowest answered DNS query of the agent's last round (of each family, for a dual-stack agent), in seconds.",
    ['family'],
    'gauge',
    (v) =>
      dnsFamilies(v.report).flatMap((family) => {
        const answered = dnsQueries(v.report, family).filter((q) => q.result !== 'timeout' && q.latencyMs !== null);
        return answered.length === 0
          ? []
          : [{ labels: familyLabel(family), value: Math.max(...answered.map((q) => q.latencyMs as number)) / 1000 }];
      }),
  ),
  each(
    'netchecker_agent_peers',
    'Assigned peers in each peer network (and each family, for a dual-stack agent) that the agent reached or failed to reach in its last round.',
    ['peer_network', 'status', 'family'],
    'gauge',
    (v) =>
      v.report.peers
        ? perFamily(v.report, (family) =>
            NETWORKS.flatMap((peer_network) => {
              const c = peersBy(v.report, peer_network, family);
              return PEER_STATUSES.map((status) => ({ labels: { peer_network, status }, value: c[status] }));
            }),
          )
        : [],
  ),
  each(
    'netchecker_agent_probed_by',
    'Other agents that reached or failed to reach this agent in their last round (per family, for a dual-stack agent).',
    ['status', 'family'],
    'gauge',
    (v) => {
      const by = v.probedBy;
      if (!by) return [];
      const families = by.byFamily;
      if (!families) return PEER_STATUSES.map((status) => ({ labels: { status }, value: by[status] }));
      return IP_FAMILIES.flatMap((family) =>
        PEER_STATUSES.map((status) => ({ labels: { status, family }, value: families[family][status] })),
      );
    },
  ),
  gauge(
    'netchecker_agent_probed_loss_ratio',
    'Share of the probes sent to this agent by other agents that were not starved, in their last round, that got no answer (0 to 1).',
    (v) => v.probedBy?.lossRatio ?? null,
  ),
  gauge(
    'netchecker_agent_probed_rtt_seconds',
    'Median of the fastest round trips to this agent that other agents, not starved, measured in their last round, in seconds.',
    (v) => v.probedBy?.rttSeconds ?? null,
  ),
  each(
    'netchecker_agent_peer_unreachable',
    'Present (1) only while the agent fails to reach this peer; removed when the peer answers again.',
    ['peer', 'peer_node', 'peer_network', 'result', 'family'],
    'gauge',
    (v) => {
      const primary = dualStackPrimary(v.report);
      return (v.report.peers ?? [])
        .filter((p) => p.result !== 'ok')
        .map((p) => ({
          labels: {
            peer: p.name,
            peer_node: p.node,
            peer_network: p.network,
            result: p.result,
            ...(primary === null ? {} : { family: familyOfResult(p, primary) }),
          },
          value: 1,
        }));
    },
  ),
  each(
    'netchecker_agent_peer_loss_ratio',
    "Share of the agent's peer probes in each peer network (and each family, for a dual-stack agent) that got no answer in its last round (0 to 1).",
    ['peer_network', 'family'],
    'gauge',
    (v) =>
      v.report.peers
        ? perFamily(v.report, (family) =>
            NETWORKS.flatMap((peer_network) => {
              const c = peersBy(v.report, peer_network, family);
              return c.sent === 0 ? [] : [{ labels: { peer_network }, value: c.lost / c.sent }];
            }),
          )
        : [],
  ),
  each(
    'netchecker_agent_path_mtu_bytes',
    "Largest don't-fragment packet that got through, in bytes: to the exporter, and the smallest among the peers.",
    ['target'],
    'gauge',
    (v) => {
      const m = v.report.pathMtu;
      if (!m) return [];
      const values = { exporter: m.exporterBytes, peers: m.peersBytes };
      return MTU_TARGETS.flatMap((target) => (values[target] === null ? [] : [{ labels: { target }, value: values[target] }]));
    },
  ),
  gauge(
    'netchecker_agent_icmp_available',
    'Whether the agent may send ICMP echo (1) or not (0); without it ICMP and path MTU are not measured.',
    (v) => (v.report.icmpAvailable == null ? null : v.report.icmpAvailable ? 1 : 0),
  ),
  gauge('netchecker_agent_event_loop_lag_seconds', 'Largest event-loop delay of the agent during its last round, in seconds.', (v) =>
    v.report.integrity ? v.report.integrity.eventLoopLagMs / 1000 : null,
  ),
  gauge(
    'netchecker_agent_cpu_throttled_ratio',
    "Share of the agent's cgroup CPU periods that were throttled during its last round (0 to 1).",
    (v) => v.report.integrity?.cpuThrottledRatio ?? null,
  ),
  gauge(
    'netchecker_agent_starved',
    'Whether the agent was starved of CPU in its last round (1): its latencies are then untrustworthy and left out of the RTT histogram.',
    (v) => (v.report.integrity ? (v.report.integrity.starved ? 1 : 0) : null),
  ),
  each(
    'netchecker_agent_exporter_probe_duration_seconds',
    "Phases of the agent's last probe of the exporter's /api/v1/ping, in seconds.",
    ['phase'],
    'gauge',
    (v) => {
      const phases = exporterProbe(v.report)?.phasesMs;
      if (!phases) return [];
      return EXPORTER_PHASES.flatMap((phase) => (phases[phase] === undefined ? [] : [{ labels: { phase }, value: phases[phase] / 1000 }]));
    },
  ),
  gauge(
    'netchecker_agent_exporter_probe_success',
    "Whether the agent's last probe of the exporter's /api/v1/ping succeeded (1) or not (0).",
    (v) => {
      const p = exporterProbe(v.report);
      return p ? (p.result === 'ok' ? 1 : 0) : null;
    },
  ),
  each(
    'netchecker_agent_exporter_family_up',
    "Whether the agent's probe of the exporter's /api/v1/ping over each IP family succeeded (1) or not (0); dual-stack agents whose exporter name has an address of each family only.",
    ['family'],
    'gauge',
    (v) => {
      const byFamily = v.report.exporterByFamily;
      if (!byFamily) return [];
      return IP_FAMILIES.flatMap((family) => {
        const p = byFamily[family];
        return p ? [{ labels: { family }, value: p.result === 'ok' ? 1 : 0 }] : [];
      });
    },
  ),
  ...apiServerFamilies,
  ...blockedFamilies,
];

export const rttFamilyName = 'netchecker_peer_rtt_seconds';
const rttHelp =
  'Round trip of peer HTTP probes that answered, per network pair (network of the prober, peer_network of the peer), in seconds; rounds of starved agents are left out.';

/** RTT histograms per (network, peer_network): 4 histograms whatever the number of agents. */
export class RttHistograms {
  /** key "network/peer_network" -> cumulative-free bucket counts, then sum and count. */
  readonly #h = new Map<string, { buckets: number[]; sum: number; count: number }>();

  constructor() {
    for (const n of NETWORKS)
      for (const p of NETWORKS) this.#h.set(`${n}/${p}`, { buckets: RTT_BUCKETS_SECONDS.map(() => 0), sum: 0, count: 0 });
  }

  observe(network: Network, peerNetwork: Network, seconds: number): void {
    const h = this.#h.get(`${network}/${peerNetwork}`);
    if (!h) return;
    const i = RTT_BUCKETS_SECONDS.findIndex((b) => seconds <= b);
    if (i >= 0) h.buckets[i] = (h.buckets[i] as number) + 1;
    h.sum += seconds;
    h.count++;
  }

  text(): string {
    let out = `# HELP ${rttFamilyName} ${rttHelp}\n# TYPE ${rttFamilyName} histogram\n`;
    for (const [key, h] of this.#h) {
      const [network, peer_network] = key.split('/') as [string, string];
      const base = formatLabels({ network, peer_network });
      let cumulative = 0;
      RTT_BUCKETS_SECONDS.forEach((le, i) => {
        cumulative += h.buckets[i] as number;
        out += `${rttFamilyName}_bucket{${base},le="${le}"} ${cumulative}\n`;
      });
      out += `${rttFamilyName}_bucket{${base},le="+Inf"} ${h.count}\n${rttFamilyName}_sum{${base}} ${formatValue(h.sum)}\n${rttFamilyName}_count{${base}} ${h.count}\n`;
    }
    return out;
  }
}

export interface ProbeAgent {
  readonly name: string;
  readonly node: string;
  readonly network: Network;
}

const zeroCounts = (): Record<DnsResult, number> => Object.fromEntries(DNS_RESULTS.map((r) => [r, 0])) as Record<DnsResult, number>;
const NO_QUERIES: Readonly<Record<DnsResult, number>> = Object.freeze(zeroCounts());

/** Median of sorted numbers; null for none. */
export function median(sorted: readonly number[]): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  return n % 2 === 1 ? (sorted[(n - 1) / 2] as number) : ((sorted[n / 2 - 1] as number) + (sorted[n / 2] as number)) / 2;
}

/**
 * Per agent: which agents probed it in their last round, and with what outcome. Loss and round
 * trip leave out starved probers: their timeouts and delays are their own CPU's, not the target's;
 * and a prober's probes over a family (or of a single-stack pair) in which it failed to reach most
 * of its peers: its own path is cut (its NodeUnreachable or ReachesFewPeers says so), and its
 * failures are no loss towards the nodes it probes.
 */
export function probedByCounts(records: Iterable<AgentRecord>): Map<string, ProbedBy> {
  const all = [...records];
  /** Dual-stack targets: results without a family went to their primary address. */
  const primaries = new Map<string, IpFamily>();
  for (const r of all) {
    const primary = dualStackPrimary(r.report);
    if (primary !== null) primaries.set(r.name, primary);
  }
  type Counts = { reachable: number; unreachable: number };
  const acc = new Map<string, Counts & { sent: number; lost: number; rtts: number[]; byFamily: Record<IpFamily, Counts> | null }>();
  for (const r of all) {
    const starved = r.report.integrity?.starved === true;
    const cut = cutOffFamilies(r.report.peers ?? []);
    for (const p of r.report.peers ?? []) {
      if (p.name === r.name) continue;
      let c = acc.get(p.name);
      const primary = primaries.get(p.name);
      const byFamily = primary === undefined ? null : { ipv4: { reachable: 0, unreachable: 0 }, ipv6: { reachable: 0, unreachable: 0 } };
      if (!c) acc.set(p.name, (c = { reachable: 0, unreachable: 0, sent: 0, lost: 0, rtts: [], byFamily }));
      const status = p.result === 'ok' ? 'reachable' : 'unreachable';
      c[status]++;
      if (c.byFamily && primary !== undefined) c.byFamily[familyOfResult(p, primary)][status]++;
      if (starved || cut.has(p.family ?? null)) continue;
      c.sent += p.sent;
      c.lost += p.lost;
      if (p.rttMs !== null) c.rtts.push(p.rttMs / 1000);
    }
  }
  const out = new Map<string, ProbedBy>();
  for (const [name, c] of acc) {
    out.set(name, {
      reachable: c.reachable,
      unreachable: c.unreachable,
      lossRatio: c.sent === 0 ? null : c.lost / c.sent,
      rttSeconds: median(c.rtts.sort((a, b) => a - b)),
      byFamily: c.byFamily,
    });
  }
  return out;
}

/** The families (null: pairs probed once) in which a prober failed to reach more than half of its peers. */
function cutOffFamilies(peers: readonly PeerResult[]): Set<IpFamily | null> {
  const tally = new Map<IpFamily | null, { failed: number; all: number }>();
  for (const p of peers) {
    const key = p.family ?? null;
    let t = tally.get(key);
    if (!t) tally.set(key, (t = { failed: 0, all: 0 }));
    t.all++;
    if (p.result !== 'ok') t.failed++;
  }
  return new Set([...tally].filter(([, t]) => 2 * t.failed > t.all).map(([key]) => key));
}

const NOBODY: ProbedBy = Object.freeze({ reachable: 0, unreachable: 0, lossRatio: null, rttSeconds: null, byFamily: null });
const NOBODY_DUAL: ProbedBy = Object.freeze({
  ...NOBODY,
  byFamily: { ipv4: { reachable: 0, unreachable: 0 }, ipv6: { reachable: 0, unreachable: 0 } },
});

/** The probe series: fed by ingest (counters, histograms), rendered per agent on refresh. */
export class ProbeMetrics {
  readonly #series = new SeriesCache<ProbeView>(probeFamilies);
  readonly #dns = new Map<string, DnsCounts>();
  readonly #rtt = new RttHistograms();
  /** What each agent's series were last rendered from. */
  readonly #rendered = new Map<string, { record: AgentRecord; node: string; network: Network; probedBy: string }>();

  /** Counts a freshly accepted report: DNS results, and RTTs unless the agent was starved. */
  ingest(name: string, report: Report): void {
    let counts = this.#dns.get(name);
    if (!counts) this.#dns.set(name, (counts = {}));
    const perFamily = dnsFamilies(report)[0] !== null;
    for (const q of report.dns ?? []) (counts[perFamily ? dnsFamilyOf(q) : 'all'] ??= zeroCounts())[q.result]++;
    if (report.integrity?.starved) return;
    const network = networkOf(name, report.network);
    for (const p of report.peers ?? []) if (p.rttMs !== null) this.#rtt.observe(network, p.network, p.rttMs / 1000);
  }

  /** Re-renders agents whose report, labels or probers changed; drops agents no longer present. */
  refresh(agents: readonly ProbeAgent[], recordOf: (name: string) => AgentRecord | undefined): void {
    const present = new Map<string, AgentRecord>();
    for (const a of agents) {
      const r = recordOf(a.name);
      if (r) present.set(a.name, r);
    }
    const probedBy = probedByCounts(present.values());
    for (const a of agents) {
      const record = present.get(a.name);
      if (!record) continue;
      const by = record.report.listen ? (probedBy.get(a.name) ?? (dualStackPrimary(record.report) ? NOBODY_DUAL : NOBODY)) : null;
      const memo = {
        record,
        node: a.node,
        network: a.network,
        probedBy: by ? `${by.reachable}/${by.unreachable}/${by.lossRatio}/${by.rttSeconds}/${JSON.stringify(by.byFamily)}` : '',
      };
      const b = this.#rendered.get(a.name);
      if (b && b.record === memo.record && b.node === memo.node && b.network === memo.network && b.probedBy === memo.probedBy) continue;
      const labels = { agent: a.name, node: a.node, network: a.network };
      this.#series.set(a.name, labels, { report: record.report, dnsCounts: this.#dns.get(a.name) ?? {}, probedBy: by });
      this.#rendered.set(a.name, memo);
    }
    for (const name of this.#rendered.keys()) {
      if (present.has(name)) continue;
      this.#series.delete(name);
      this.#rendered.delete(name);
      this.#dns.delete(name);
    }
  }

  appendTo(out: Exposition): void {
    this.#series.appendTo(out);
    out.push(Buffer.from(this.#rtt.text()));
  }
}
