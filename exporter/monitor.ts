// The monitor joins store, discovery, verdict and metrics. Reports come in through ingest(); the
// verdict is recomputed by the monitor's own schedule, never by a read: once per tick as time
// passes, and after reports at most once per gap of 80 µs per agent (0.8 s at 10,000): about ten
// times a recomputation's measured cost, so the verdict's share of a core stays about a tenth at
// any scale. The gap follows the agent count, not a timing, so the same cluster gets the same
// schedule on a quiet or a busy machine. Each recomputation counts
// misses (verdict/tracker.ts), logs state changes and prunes agents that are gone. The series of
// the agents whose view changed (metrics/agent-series.ts) are rendered at most once per tick, so an
// agent that reports many times a second costs one render a second; a scrape first renders what
// changed since, so it shows the latest verdict. Reads get the latest verdict.

import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import type { Report } from '../report/schema.js';
import type { Discovery } from './discovery/discovery.js';
import type { DnsReplica } from './discovery/dns-replicas.js';
import { AgentSeries } from './metrics/agent-series.js';
import { type Exposition, expositionText } from './metrics/exposition.js';
import type { SelfMetrics } from './metrics/self.js';
import type { Store } from './store/store.js';
import { TransitionRing } from './status/transitions.js';
import { AgentTracker, pruneDue, type StateChange } from './verdict/tracker.js';
import { computeVerdict, type State, type Verdict } from './verdict/verdict.js';

/** States age without any report: the verdict is recomputed at least this often. */
export const TICK_MS = 1000;
/** A read waits for a recomputation due within this long, so a report is seen by the reads after it. */
const FRESH_WAIT_MS = 50;
const GAP_PER_AGENT_MS = 0.08;

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
  /** The cluster DNS replicas agents query directly; none when left out. */
  readonly dnsReplicas?: () => readonly DnsReplica[];
}

export class Monitor {
  readonly #o: MonitorOptions;
  readonly #startedMonoMs: number;
  readonly #tracker = new AgentTracker();
  readonly #series: AgentSeries;
  /** State changes for the status page; appended to when a verdict is recomputed, so they change with it. */
  readonly transitions = new TransitionRing();
  #verdict: Verdict;
  /** Injected clock at the last recomputation (ages), and real time (the schedule). */
  #computedMonoMs = 0;
  #computedRealMs = 0;
  /** Records changed since the last recomputation. */
  #dirty = true;
  /** Real time of the last series render; whether a verdict, or records, changed since it. */
  #renderedRealMs = Number.NEGATIVE_INFINITY;
  #seriesBehind = false;
  #recordsSinceRender = false;
  #scheduled: { timer: NodeJS.Timeout; atRealMs: number; done: Promise<void>; resolve: () => void } | null = null;
  #ticker: NodeJS.Timeout | null = null;
  /** The expected set and store sync the last recomputation read. */
  #probedExpected: ReturnType<Discovery['expected']> | undefined = undefined;
  #syncedSeen = false;
  /**
   * When the store first held its backend's state (etcd: the first load): the startup grace
   * counts from here, so an exporter that starts while etcd is away calls nobody absent.
   */
  #syncedMonoMs: number | null;

  constructor(options: MonitorOptions) {
    this.#o = options;
    this.#startedMonoMs = options.clock.monoMs();
    this.#syncedMonoMs = options.store.synced() ? this.#startedMonoMs : null;
    this.#series = new AgentSeries(options.legacyMetrics);
    this.#verdict = this.#refresh();
    // Reports stored by another replica (or expired in the store) change the verdict too.
    options.store.onChange(() => this.#changed());
  }

  /** Starts the tick; stop() ends it and any pending recomputation. */
  start(): void {
    this.#ticker ??= setInterval(() => {
      if (this.#stale()) this.#schedule();
    }, TICK_MS / 4);
  }

  stop(): void {
    if (this.#ticker) clearInterval(this.#ticker);
    this.#ticker = null;
    this.#unschedule();
  }

  /** Stores a validated report, with the IP it came from (null: unknown); resolves once the store has it. */
  async ingest(name: string, report: Report, source: string | null = null): Promise<void> {
    const { clock, store } = this.#o;
    await store.put({ name, report, receivedMonoMs: clock.monoMs(), receivedWallMs: clock.wallMs(), source });
    this.#tracker.reported(name);
    this.#series.ingest(name, report);
    this.#changed();
  }

  /** The latest verdict: at most a tick old, and a gap behind the last report. */
  verdict(): Verdict {
    return this.#verdict;
  }

  /**
   * The verdict for a read that should see what came before it: when a recomputation is pending
   * and due within `maxWaitMs` (by default always so at small scale), after it; otherwise the latest.
   */
  async fresh(maxWaitMs = FRESH_WAIT_MS): Promise<Verdict> {
    if (this.#stale()) this.#schedule(); // the tick is late, or the clock stepped
    const s = this.#scheduled;
    if (s && s.atRealMs - performance.now() <= maxWaitMs) await s.done;
    return this.#verdict;
  }

  /** The agent series (presence, probes, counts and, when on, legacy) in the Prometheus text format, as byte chunks. */
  metricsExposition(): Exposition {
    if (this.#seriesBehind) this.#render();
    return this.#series.exposition();
  }

  metricsText(): string {
    return expositionText(this.metricsExposition());
  }

  get startedMonoMs(): number {
    return this.#startedMonoMs;
  }

  /**
   * A tick has passed on the monotonic clock since the last recomputation, or what it read moved:
   * discovery's expected set (a new object per change) or the store's first sync.
   */
  #stale(): boolean {
    const { clock, discovery, store } = this.#o;
    return (
      clock.monoMs() - this.#computedMonoMs >= TICK_MS ||
      discovery.expected() !== this.#probedExpected ||
      store.synced() !== this.#syncedSeen
    );
  }

  #changed(): void {
    this.#dirty = true;
    this.#schedule();
  }

  /** Arms one recomputation: now if the gap since the last has passed, else when it has. */
  #schedule(): void {
    if (this.#scheduled) return;
    const atRealMs = Math.max(performance.now(), this.#computedRealMs + Math.min(TICK_MS, GAP_PER_AGENT_MS * this.#verdict.agents.length));
    let resolve = (): void => {};
    const done = new Promise<void>((r) => (resolve = r));
    const timer = setTimeout(() => this.#refresh(), atRealMs - performance.now());
    this.#scheduled = { timer, atRealMs, done, resolve };
  }

  #unschedule(): void {
    const s = this.#scheduled;
    this.#scheduled = null;
    if (!s) return;
    clearTimeout(s.timer);
    s.resolve();
  }

  /** The startup grace counts from the store's first sync; until then it lasts (everyone silent is `starting`). */
  #grace(now: number): { startedMonoMs: number; startupGraceMs: number } {
    if (this.#syncedMonoMs === null && this.#o.store.synced()) this.#syncedMonoMs = now;
    if (this.#syncedMonoMs === null) return { startedMonoMs: now, startupGraceMs: Number.POSITIVE_INFINITY };
    return { startedMonoMs: this.#syncedMonoMs, startupGraceMs: this.#o.startupGraceSeconds * 1000 };
  }

  #refresh(): Verdict {
    const { store, discovery, self, clock } = this.#o;
    const end = self.verdictSeconds.startTimer();
    const now = clock.monoMs();
    this.#prune(now);
    const expected = discovery.expected();
    const verdict = computeVerdict({
      expected,
      records: store.records(),
      nowMonoMs: now,
      ...this.#grace(now),
      failing: this.#o.failingStates,
    });
    const { changes } = this.#tracker.observe(verdict);
    for (const c of changes) this.#logChange(c);
    store.judged(verdict.agents);
    this.#recordsSinceRender ||= this.#dirty || expected !== this.#probedExpected;
    this.#seriesBehind = true;
    this.#probedExpected = expected;
    this.#syncedSeen = store.synced();
    this.#verdict = verdict;
    this.#dirty = false;
    this.#computedMonoMs = now;
    if (performance.now() - this.#renderedRealMs >= TICK_MS) this.#render();
    this.#computedRealMs = performance.now();
    end();
    this.#unschedule();
    return verdict;
  }

  /** Brings the agent series to the latest verdict and the records as they are now. */
  #render(): void {
    const { store } = this.#o;
    this.#series.update({
      verdict: this.#verdict,
      counts: (name) => this.#tracker.counts(name),
      record: (name) => store.get(name),
      recordsChanged: this.#recordsSinceRender,
      dnsReplicas: this.#o.dnsReplicas?.() ?? [],
    });
    this.#seriesBehind = false;
    this.#recordsSinceRender = false;
    this.#renderedRealMs = performance.now();
  }

  /** Deletes agents that are gone, before the verdict that would still show them. */
  #prune(now: number): void {
    const { store, discovery, log, reportTtlSeconds } = this.#o;
    for (const name of pruneDue(store.records(), discovery.expected(), now, reportTtlSeconds)) {
      log.info('agent pruned', { agent: name, reason: 'not expected and silent for longer than the report TTL' });
      void store.delete(name).catch((e: unknown) => log.warn('store delete failed', { agent: name, error: String(e) }));
    }
  }

  #logChange({ before, now }: StateChange): void {
    this.transitions.push({
      agent: now.name,
      node: now.node,
      network: now.network,
      from: before.state,
      to: now.state,
      reason: now.reason,
      atWallMs: this.#o.clock.wallMs(),
    });
    const fields = { agent: now.name, node: now.node, network: now.network, from: before.state, to: now.state, reason: now.reason };
    if (now.state === 'ok') this.#o.log.info(before.state === 'outdated' ? 'agent is reporting again' : 'agent reported', fields);
    else this.#o.log.warn(`agent is ${now.state}`, fields);
  }
}
