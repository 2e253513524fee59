// The monitor joins store, discovery, verdict and metrics. Reports come in through ingest();
// the verdict is recomputed when something changed (at most when asked for, and once per second
// on the tick), and each recomputation updates counters, logs state changes, prunes agents that
// are gone and re-renders the series of the agents whose view changed.

import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import type { Report } from '../report/schema.js';
import type { Discovery } from './discovery/discovery.js';
import { type Exposition, expositionText, renderRows, SeriesCache } from './metrics/exposition.js';
import { type AgentView, agentFamilies, agentsFamily, countRows, expectedFamily } from './metrics/families.js';
import { legacyFamilies, legacyKey, type LegacyView, uniqueProbes } from './metrics/legacy.js';
import { ProbeMetrics } from './metrics/probes.js';
import type { SelfMetrics } from './metrics/self.js';
import type { AgentRecord, Store } from './store/store.js';
import { TransitionRing } from './status/transitions.js';
import { type AgentVerdict, computeVerdict, type State, type Verdict } from './verdict/verdict.js';

export interface MonitorOptions {
  readonly store: Store;
  readonly discovery: Discovery;
  readonly self: SelfMetrics;
  readonly log: Logger;
  readonly clock: Clock;
  readonly reportTtlSeconds: number;
  readonly startupGraceSeconds: number;
  /** States that fail connectivity_check (--failing-states); the verdict's default when left out. */
  readonly failingStates?: ReadonlySet<State>;
  readonly legacyMetrics: boolean;
}

/** Per-agent counters and what its series were last rendered from. */
interface AgentStats {
  reports: number;
  missed: number;
  missedInGap: number;
  /** The agent's legacy key and how much of its counters that key has taken in. */
  legacy: string | null;
  legacyCounted: { reports: number; missed: number };
  rendered: { record: AgentRecord | undefined; verdict: AgentVerdict } | null;
}

export class Monitor {
  readonly #o: MonitorOptions;
  readonly #startedMonoMs: number;
  readonly #stats = new Map<string, AgentStats>();
  readonly #series = new SeriesCache<AgentView>(agentFamilies);
  readonly #legacy = new SeriesCache<LegacyView>(legacyFamilies);
  readonly #probes = new ProbeMetrics();
  /** Legacy counters per original agent key; they live as long as a pod maps to the key. */
  readonly #legacyStats = new Map<string, { reports: number; errors: number; members: Set<string> }>();
  /** State changes for the status page; appended to when a verdict is recomputed, so they change with it. */
  readonly transitions = new TransitionRing();
  #verdict: Verdict | null = null;
  #computedMonoMs = -Infinity;
  #dirty = true;
  /** The expected set the probe series were last refreshed with (undefined: not yet). */
  #probedExpected: ReturnType<Discovery['expected']> | undefined = undefined;
  /**
   * When the store first held its backend's state (etcd: the first load): the startup grace
   * counts from here, so an exporter that starts while etcd is away calls nobody absent.
   */
  #syncedMonoMs: number | null;

  constructor(options: MonitorOptions) {
    this.#o = options;
    this.#startedMonoMs = options.clock.monoMs();
    this.#syncedMonoMs = options.store.synced() ? this.#startedMonoMs : null;
    // Reports stored by another replica (or expired in the store) change the verdict too.
    options.store.onChange(() => {
      this.#dirty = true;
    });
  }

  /** Stores a validated report, with the IP it came from (null: unknown); resolves once the store has it. */
  async ingest(name: string, report: Report, source: string | null = null): Promise<void> {
    const { clock, store } = this.#o;
    await store.put({ name, report, receivedMonoMs: clock.monoMs(), receivedWallMs: clock.wallMs(), source });
    const stats = this.#statsOf(name);
    stats.reports++;
    stats.missedInGap = 0;
    this.#probes.ingest(name, report);
    this.#dirty = true;
  }

  /** The current verdict: recomputed if anything changed or a second has passed. */
  verdict(): Verdict {
    const now = this.#o.clock.monoMs();
    if (this.#dirty || this.#verdict === null || now - this.#computedMonoMs >= 1000) this.#refresh(now);
    return this.#verdict as Verdict;
  }

  /** The agent series (presence, probes, counts and, when on, legacy) in the Prometheus text format, as byte chunks. */
  metricsExposition(): Exposition {
    const v = this.verdict();
    const counts = countRows(v.agents);
    const out: Exposition = [];
    this.#series.appendTo(out);
    this.#probes.appendTo(out);
    out.push(Buffer.from(renderRows(agentsFamily, counts.byState) + renderRows(expectedFamily, counts.expected)));
    if (this.#o.legacyMetrics) this.#legacy.appendTo(out);
    return out;
  }

  metricsText(): string {
    return expositionText(this.metricsExposition());
  }

  get startedMonoMs(): number {
    return this.#startedMonoMs;
  }

  /** The startup grace counts from the store's first sync; until then it lasts (everyone silent is `starting`). */
  #grace(now: number): { startedMonoMs: number; startupGraceMs: number } {
    if (this.#syncedMonoMs === null && this.#o.store.synced()) this.#syncedMonoMs = now;
    if (this.#syncedMonoMs === null) return { startedMonoMs: now, startupGraceMs: Number.POSITIVE_INFINITY };
    return { startedMonoMs: this.#syncedMonoMs, startupGraceMs: this.#o.startupGraceSeconds * 1000 };
  }

  #statsOf(name: string): AgentStats {
    let s = this.#stats.get(name);
    if (!s) this.#stats.set(name, (s = { reports: 0, missed: 0, missedInGap: 0, legacy: null, legacyCounted: { reports: 0, missed: 0 }, rendered: null }));
    return s;
  }

  #refresh(now: number): void {
    const { store, discovery, self } = this.#o;
    const end = self.verdictSeconds.startTimer();
    this.#prune(now);
    const verdict = computeVerdict({
      expected: discovery.expected(),
      records: store.records(),
      nowMonoMs: now,
      ...this.#grace(now),
      failing: this.#o.failingStates,
    });
    const legacyDirty = new Set<string>();
    const present = new Set<string>();
    for (const a of verdict.agents) {
      present.add(a.name);
      const stats = this.#statsOf(a.name);
      if (a.missedInGap > stats.missedInGap) {
        stats.missed += a.missedInGap - stats.missedInGap;
        stats.missedInGap = a.missedInGap;
      } else if (a.missedInGap === 0) stats.missedInGap = 0; // a report arrived, maybe through another replica
      const record = store.get(a.name);
      const before = stats.rendered;
      if (before && before.verdict.state !== a.state) this.#logChange(before.verdict, a);
      if (!before || before.record !== record || before.verdict.state !== a.state || this.#viewMoved(before.verdict, a, stats)) {
        this.#series.set(a.name, { agent: a.name, node: a.node, network: a.network }, { verdict: a, record, reports: stats.reports, missed: stats.missed });
        stats.rendered = { record, verdict: a };
        this.#countLegacy(a.name, stats, record ? legacyKey(record.report.nodeName, a.network) : null, legacyDirty);
      }
    }
    for (const [name, stats] of this.#stats) {
      if (present.has(name)) continue;
      this.#series.delete(name);
      this.#countLegacy(name, stats, null, legacyDirty);
      this.#stats.delete(name);
    }
    if (legacyDirty.size > 0) this.#renderLegacy(legacyDirty);
    // The probe series read only records and the expected set: a refresh because time passed
    // (the tick) leaves them as they are, and skipping it spares the tick's garbage at 10,000 agents.
    const expected = discovery.expected();
    if (this.#dirty || expected !== this.#probedExpected) this.#probes.refresh(verdict.agents, (name) => store.get(name));
    this.#probedExpected = expected;
    this.#verdict = verdict;
    this.#computedMonoMs = now;
    this.#dirty = false;
    end();
  }

  /** Labels or counters changed without a state change (node learned, missed counted). */
  #viewMoved(before: AgentVerdict, now: AgentVerdict, stats: AgentStats): boolean {
    return before.node !== now.node || before.network !== now.network || before.missedInGap !== stats.missedInGap;
  }

  /** Deletes agents that are gone: not expected and silent for the TTL (and at least 3 intervals). */
  #prune(now: number): void {
    const { store, discovery, log } = this.#o;
    const expected = discovery.expected();
    const gone: string[] = [];
    for (const r of store.records()) {
      if (expected?.has(r.name)) continue;
      const silentMs = now - r.receivedMonoMs;
      if (silentMs > Math.max(this.#o.reportTtlSeconds, 3 * r.report.intervalSeconds) * 1000) gone.push(r.name);
    }
    for (const name of gone) {
      log.info('agent pruned', { agent: name, reason: 'not expected and silent for longer than the report TTL' });
      void store.delete(name).catch((e: unknown) => log.warn('store delete failed', { agent: name, error: String(e) }));
    }
  }

  /** Moves the agent to its legacy key (null: none) and adds its new reports and misses there. */
  #countLegacy(name: string, stats: AgentStats, key: string | null, dirty: Set<string>): void {
    if (stats.legacy !== key && stats.legacy !== null) {
      this.#legacyStats.get(stats.legacy)?.members.delete(name);
      dirty.add(stats.legacy);
    }
    stats.legacy = key;
    if (key === null) return;
    let ls = this.#legacyStats.get(key);
    if (!ls) this.#legacyStats.set(key, (ls = { reports: 0, errors: 0, members: new Set() }));
    ls.members.add(name);
    ls.reports += stats.reports - stats.legacyCounted.reports;
    ls.errors += stats.missed - stats.legacyCounted.missed;
    stats.legacyCounted = { reports: stats.reports, missed: stats.missed };
    dirty.add(key);
  }

  #renderLegacy(keys: Set<string>): void {
    for (const key of keys) {
      const ls = this.#legacyStats.get(key);
      let latest: AgentRecord | undefined;
      for (const name of ls?.members ?? []) {
        const r = this.#o.store.get(name);
        if (r && (!latest || r.receivedMonoMs > latest.receivedMonoMs)) latest = r;
      }
      if (!ls || !latest) {
        this.#legacy.delete(key);
        this.#legacyStats.delete(key);
      } else this.#legacy.set(key, { agent: key }, { reports: ls.reports, errors: ls.errors, probes: uniqueProbes(latest.report.probes) });
    }
  }

  #logChange(before: AgentVerdict, now: AgentVerdict): void {
    this.transitions.push({ agent: now.name, node: now.node, network: now.network, from: before.state, to: now.state, reason: now.reason, atWallMs: this.#o.clock.wallMs() });
    const fields = { agent: now.name, node: now.node, network: now.network, from: before.state, to: now.state, reason: now.reason };
    if (now.state === 'ok') this.#o.log.info(before.state === 'outdated' ? 'agent is reporting again' : 'agent reported', fields);
    else this.#o.log.warn(`agent is ${now.state}`, fields);
  }
}
