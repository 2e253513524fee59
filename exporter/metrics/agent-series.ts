// The one owner of the per-agent series: presence (families.ts), probes (probes.ts), the counts
// per state and, when on, the original's ncagent_* series (legacy.ts). Fed by accepted reports and
// by the latest verdict (the monitor's, once per tick and before a scrape); re-renders only the
// agents whose view changed, so a tick at 10,000 agents costs the agents that moved, not all of them.

import type { Report } from '../../report/schema.js';
import type { DnsReplica } from '../discovery/dns-replicas.js';
import type { AgentRecord } from '../store/store.js';
import type { AgentCounts } from '../verdict/tracker.js';
import type { AgentVerdict, Verdict } from '../verdict/verdict.js';
import { type Exposition, renderRows, SeriesCache } from './exposition.js';
import { renderReplicas, replicaViews } from './dns-replicas.js';
import { type AgentView, agentFamilies, agentsFamily, countRows, expectedFamily } from './families.js';
import { legacyFamilies, legacyKey, type LegacyView, uniqueProbes } from './legacy.js';
import { ProbeMetrics } from './probes.js';

/** What an agent's presence series were last rendered from, and its share of the legacy counters. */
interface Rendered {
  record: AgentRecord | undefined;
  verdict: AgentVerdict;
  missed: number;
  /** The agent's legacy key and how much of its counters that key has taken in. */
  legacy: string | null;
  legacyCounted: AgentCounts;
}

export interface SeriesUpdate {
  readonly verdict: Verdict;
  readonly counts: (name: string) => AgentCounts;
  readonly record: (name: string) => AgentRecord | undefined;
  /** False when only time passed: the probe series read records and the expected set, not the clock. */
  readonly recordsChanged: boolean;
  /** The cluster DNS replicas now (the same array until they change). */
  readonly dnsReplicas: readonly DnsReplica[];
}

export class AgentSeries {
  readonly #legacyOn: boolean;
  readonly #series = new SeriesCache<AgentView>(agentFamilies);
  readonly #legacy = new SeriesCache<LegacyView>(legacyFamilies);
  readonly #probes = new ProbeMetrics();
  readonly #rendered = new Map<string, Rendered>();
  /** Legacy counters per original agent key; they live as long as a pod maps to the key. */
  readonly #legacyStats = new Map<string, { reports: number; errors: number; members: Set<string> }>();
  #countsText = '';
  #replicasText = '';
  #replicasOf: readonly DnsReplica[] = [];

  constructor(legacyOn: boolean) {
    this.#legacyOn = legacyOn;
  }

  /** Counts a freshly accepted report into the probe counters and histograms. */
  ingest(name: string, report: Report): void {
    this.#probes.ingest(name, report);
  }

  update({ verdict, counts, record: recordOf, recordsChanged, dnsReplicas }: SeriesUpdate): void {
    const legacyDirty = new Set<string>();
    const present = new Set<string>();
    for (const a of verdict.agents) {
      present.add(a.name);
      const c = counts(a.name);
      const record = recordOf(a.name);
      const before = this.#rendered.get(a.name);
      if (before && before.record === record && before.missed === c.missed && sameView(before.verdict, a)) continue;
      this.#series.set(
        a.name,
        { agent: a.name, node: a.node, network: a.network },
        { verdict: a, record, reports: c.reports, missed: c.missed },
      );
      const r: Rendered = before ?? { record, verdict: a, missed: c.missed, legacy: null, legacyCounted: { reports: 0, missed: 0 } };
      Object.assign(r, { record, verdict: a, missed: c.missed });
      this.#rendered.set(a.name, r);
      this.#countLegacy(a.name, r, record ? legacyKey(record.report.nodeName, a.network) : null, c, legacyDirty);
    }
    for (const [name, r] of this.#rendered) {
      if (present.has(name)) continue;
      this.#series.delete(name);
      this.#countLegacy(name, r, null, r.legacyCounted, legacyDirty);
      this.#rendered.delete(name);
    }
    if (legacyDirty.size > 0) this.#renderLegacy(legacyDirty, recordOf);
    if (recordsChanged) this.#probes.refresh(verdict.agents, recordOf);
    // A state change (an agent turning outdated) changes who counts: rendered on every update, O(agents x replicas).
    if (dnsReplicas.length > 0 || this.#replicasOf.length > 0) {
      this.#replicasText = renderReplicas(
        dnsReplicas,
        replicaViews(dnsReplicas, verdict.agents, (name) => recordOf(name)?.report),
      );
      this.#replicasOf = dnsReplicas;
    }
    const rows = countRows(verdict.agents);
    this.#countsText = renderRows(agentsFamily, rows.byState) + renderRows(expectedFamily, rows.expected);
  }

  /** The agent series in the Prometheus text format, as byte chunks. */
  exposition(): Exposition {
    const out: Exposition = [];
    this.#series.appendTo(out);
    this.#probes.appendTo(out);
    out.push(Buffer.from(this.#countsText));
    if (this.#replicasText) out.push(Buffer.from(this.#replicasText));
    if (this.#legacyOn) this.#legacy.appendTo(out);
    return out;
  }

  /** Moves the agent to its legacy key (null: none) and adds its new reports and misses there. */
  #countLegacy(name: string, r: Rendered, key: string | null, c: AgentCounts, dirty: Set<string>): void {
    if (r.legacy !== key && r.legacy !== null) {
      this.#legacyStats.get(r.legacy)?.members.delete(name);
      dirty.add(r.legacy);
    }
    r.legacy = key;
    if (key === null) return;
    let ls = this.#legacyStats.get(key);
    if (!ls) this.#legacyStats.set(key, (ls = { reports: 0, errors: 0, members: new Set() }));
    ls.members.add(name);
    ls.reports += c.reports - r.legacyCounted.reports;
    ls.errors += c.missed - r.legacyCounted.missed;
    r.legacyCounted = { reports: c.reports, missed: c.missed };
    dirty.add(key);
  }

  #renderLegacy(keys: Set<string>, recordOf: (name: string) => AgentRecord | undefined): void {
    for (const key of keys) {
      const ls = this.#legacyStats.get(key);
      let latest: AgentRecord | undefined;
      for (const name of ls?.members ?? []) {
        const r = recordOf(name);
        if (r && (!latest || r.receivedMonoMs > latest.receivedMonoMs)) latest = r;
      }
      if (!ls || !latest) {
        this.#legacy.delete(key);
        this.#legacyStats.delete(key);
      } else this.#legacy.set(key, { agent: key }, { reports: ls.reports, errors: ls.errors, probes: uniqueProbes(latest.report.probes) });
    }
  }
}

/** Same state and labels: time alone moved the verdict (its age), which the series do not show. */
function sameView(a: AgentVerdict, b: AgentVerdict): boolean {
  return a.state === b.state && a.node === b.node && a.network === b.network;
}
