// The Kubernetes store (--store kubernetes): the agents' state in AgentShard custom resources in the
// exporter's namespace (deploy/components/kubernetes-store), so a restarted exporter and every
// replica judge the agents alike, with no etcd to run. The full reports stay in memory, as with the
// memory store; the API holds per agent only what kube-shard.ts lists, in --kubernetes-store-shards
// objects, and the write rate is bounded whatever the number of agents:
//
//   - a put is kept in memory and marks its shard: at once for a change of identity (a new agent,
//     another node, network, interval, listen address), after --kubernetes-store-heartbeat for a
//     receipt time only; a prune marks it at once. A shard is written (the whole object, one PUT
//     with its resourceVersion) when marked and the token bucket has a write
//     (--kubernetes-store-writes per second). A 409 costs that write: the shard is read afresh,
//     merged (the later receipt per agent wins) and written on a later tick.
//   - other replicas' writes arrive through a list+watch of the shards (informer.ts): an agent
//     whose stored receipt is later than the one held here becomes a record of its own (a report
//     without measurements), aged from the stored wall-clock time (record-codec.ts, monoFromWall).
//
// Outage: puts are kept and answered as stored while at most --kubernetes-store-queue-max agents
// wait to be written, 503 `store_unavailable` past that; not ready until every shard that owed a
// write has been written back; while the watch is down the ages of other replicas' agents stand
// still, as with etcd (etcd-cache.ts), until a fresh list tells the truth. Never throws out of a
// timer: a crash would lose what waits.

import { hostname } from 'node:os';
import { CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import { WatchedResource } from '../discovery/informer.js';
import { StoreUnavailableError, withDeadline } from './deadline.js';
import type { KubeStoreConfig } from './kube-store-config.js';
import {
  decodeEntries,
  type Entries,
  entryOf,
  GROUP,
  KIND,
  mergeEntries,
  PLURAL,
  recordFromEntry,
  sameEntry,
  sameIdentity,
  unchangedSince,
  type ShardEntry,
  shardIndex,
  shardName,
  shardSpec,
  VERSION,
} from './kube-shard.js';
import { monoFromWall } from './record-codec.js';
import type { AgentRecord, Judgement, Store, StoreContext, StoreHealth, StoreOp } from './store.js';
import { WriteBudget } from './write-budget.js';

/** Often enough to spend a budget of 10 writes/s evenly. */
const TICK_MS = 100;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Shard {
  readonly index: number;
  readonly name: string;
  /** The entries as last read from or written to the API. */
  stored: Map<string, ShardEntry>;
  /** Its resourceVersion then; null: the object does not exist yet. */
  rv: string | null;
  /** Agents whose entry here differs from `stored` (or that were pruned here). */
  readonly pending: Set<string>;
  /** Pruned here and not yet written: the receipt time (epoch s) the prune judged. */
  readonly tombs: Map<string, number>;
  /** Since when a change of identity (or a prune) waits; null: none. */
  changedAtMs: number | null;
  /** Since when a later receipt time waits; null: none. */
  staleAtMs: number | null;
}

/** Status of an API error (ApiException.code), null for a connection-level failure. */
function statusOf(e: unknown): number | null {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : null;
}

export class KubernetesStore implements Store {
  /** A put keeps the record in memory and marks its shard: it settles without I/O. */
  readonly local = true;
  readonly #cfg: KubeStoreConfig;
  readonly #api: CustomObjectsApi;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #onError: (op: StoreOp) => void;
  readonly #records = new Map<string, AgentRecord>();
  /** Agents known from the API only (their records are this store's own objects, moved in place by a freeze). */
  readonly #remote = new Set<string>();
  readonly #shards: Shard[];
  readonly #byName = new Map<string, Shard>();
  readonly #watched: WatchedResource;
  readonly #budget: WriteBudget;
  readonly #listeners: Array<() => void> = [];
  readonly #tick: NodeJS.Timeout;
  readonly #writer = hostname();
  /** Shards that must be written before the store is ready again (they waited through a failure). */
  readonly #owing = new Set<number>();
  /** Per agent received here: the stored entry when its latest record arrived or was written (null: none). */
  readonly #basis = new Map<string, ShardEntry | null>();
  /** Per agent received here, the state the latest verdict judged it in: stored as soon as it changes. */
  readonly #states = new Map<string, string>();
  /** Per shard, the resourceVersion of the watched object last applied. */
  readonly #seen = new Map<string, string>();
  #synced = false;
  #onLoaded: () => void = () => {};
  readonly #loaded = new Promise<void>((resolve) => (this.#onLoaded = resolve));
  #writable = true;
  /** When the store last tried to reach an API that failed (monotonic ms). */
  #reachedAtMs = -Infinity;
  #busy = false;
  #closed = false;
  /** Since when (monotonic ms, moved each tick) other replicas' agents' ages stand still; null: not blind. */
  #frozenAtMs: number | null = null;
  #loggedUp: boolean | null = null;
  #lastError = '';
  /** Objects with another shard count already warned about. */
  readonly #foreign = new Set<string>();

  static async open({ kubeStore: cfg, kubernetes, clock, log, onError }: StoreContext): Promise<KubernetesStore> {
    if (!cfg) throw new Error('--store kubernetes needs its config');
    const { loadKubeConfig } = await import('../discovery/kubernetes.js');
    const store = new KubernetesStore(loadKubeConfig(kubernetes.kubeconfig), cfg, clock, log.child({ store: 'kubernetes' }), onError);
    // Serves once the first list arrived, or after the timeout without it: then nobody is absent until it does (synced()).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([store.#loaded, new Promise<void>((resolve) => (timer = setTimeout(resolve, cfg.timeoutMs)))]);
    clearTimeout(timer);
    return store;
  }

  private constructor(kc: KubeConfig, cfg: KubeStoreConfig, clock: Clock, log: Logger, onError: (op: StoreOp) => void) {
    this.#cfg = cfg;
    this.#clock = clock;
    this.#log = log;
    this.#onError = onError;
    this.#api = kc.makeApiClient(CustomObjectsApi);
    this.#budget = new WriteBudget(cfg.writesPerSecond, clock.monoMs());
    this.#shards = Array.from({ length: cfg.shards }, (_, index) => {
      const shard: Shard = {
        index,
        name: shardName(index, cfg.shards),
        stored: new Map(),
        rv: null,
        pending: new Set(),
        tombs: new Map(),
        changedAtMs: null,
        staleAtMs: null,
      };
      this.#byName.set(shard.name, shard);
      return shard;
    });
    const { namespace } = cfg;
    const where = { group: GROUP, version: VERSION, namespace, plural: PLURAL };
    this.#watched = new WatchedResource(
      kc,
      {
        resource: `${PLURAL}.${GROUP}`,
        scope: `in namespace ${namespace}`,
        needs: `get, list, watch, create and update on ${PLURAL}.${GROUP} in namespace ${namespace} (deploy/components/kubernetes-store)`,
        path: `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`,
        list: async (page) =>
          (await this.#timed(this.#api.listNamespacedCustomObject({ ...where, ...page }))) as KubernetesListObject<KubernetesObject>,
        slim: (obj) => obj,
      },
      log,
      () => this.#sync(),
    );
    this.#watched.start();
    this.#tick = setInterval(() => void this.#step(), TICK_MS);
    this.#tick.unref();
  }

  async put(record: AgentRecord): Promise<void> {
    const shard = this.#shardOf(record.name);
    if (!this.#up() && !shard.pending.has(record.name) && this.#queued() >= this.#cfg.queueMax) {
      const max = this.#cfg.queueMax;
      throw new StoreUnavailableError(
        max === 0
          ? 'the Kubernetes API is unavailable and write-back is off (--kubernetes-store-queue-max 0)'
          : `the Kubernetes API is unavailable and ${max} agents already wait for write-back`,
      );
    }
    this.#records.set(record.name, record);
    this.#remote.delete(record.name);
    shard.tombs.delete(record.name);
    if (!this.#basis.has(record.name)) this.#basis.set(record.name, shard.stored.get(record.name) ?? null);
    this.#mark(shard, record.name, this.#clock.monoMs());
    if (!this.#up()) this.#owing.add(shard.index);
  }

  async delete(name: string): Promise<void> {
    const record = this.#records.get(name);
    if (!record) return;
    this.#records.delete(name);
    this.#remote.delete(name);
    this.#basis.delete(name);
    this.#states.delete(name);
    const shard = this.#shardOf(name);
    const stored = shard.stored.get(name);
    if (!stored) {
      shard.pending.delete(name); // never written: nothing to remove from the API
      return;
    }
    shard.tombs.set(name, Math.max(stored.receivedAt, Math.floor(record.receivedWallMs / 1000)));
    shard.pending.add(name);
    shard.changedAtMs ??= this.#clock.monoMs();
  }

  judged(agents: readonly Judgement[]): void {
    const now = this.#clock.monoMs();
    for (const { name, state } of agents) {
      if (this.#states.get(name) === state || !this.#records.has(name) || this.#remote.has(name)) continue;
      this.#states.set(name, state);
      this.#mark(this.#shardOf(name), name, now);
    }
  }

  get(name: string): AgentRecord | undefined {
    return this.#records.get(name);
  }

  records(): IterableIterator<AgentRecord> {
    return this.#records.values();
  }

  ready(): boolean {
    return this.#up() && this.#owing.size === 0;
  }

  synced(): boolean {
    return this.#synced;
  }

  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  health(): StoreHealth {
    return { up: this.#up(), queued: this.#queued() };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#tick);
    await this.#watched.stop();
    const queued = this.#queued();
    if (queued > 0) this.#log.info('closing with agent changes not written to the Kubernetes API', { queued });
  }

  /** The API answers writes and this replica sees the shards: listed, watching. */
  #up(): boolean {
    return this.#synced && this.#writable && this.#watched.failure() === null;
  }

  #queued(): number {
    let n = 0;
    for (const s of this.#shards) n += s.pending.size;
    return n;
  }

  #shardOf(name: string): Shard {
    return this.#shards[shardIndex(name, this.#cfg.shards)] as Shard;
  }

  /** Compares the agent's record with its stored entry: pending (and since when) or not. */
  #mark(shard: Shard, name: string, nowMs: number): void {
    const record = this.#records.get(name);
    const stored = shard.stored.get(name);
    if (shard.tombs.has(name)) {
      shard.pending.add(name);
      shard.changedAtMs ??= nowMs;
      return;
    }
    if (!record || this.#remote.has(name)) {
      shard.pending.delete(name);
      return;
    }
    const mine = entryOf(record, this.#states.get(name));
    if (stored && sameEntry(stored, mine) && stored.state === mine.state) shard.pending.delete(name);
    else {
      shard.pending.add(name);
      // A new receipt alone waits for the heartbeat; a new agent, a move or a new state goes out now.
      if (!stored || !sameIdentity(stored, mine) || stored.state !== mine.state) shard.changedAtMs ??= nowMs;
      else shard.staleAtMs ??= nowMs;
    }
  }

  #timed<T>(call: Promise<T>): Promise<T> {
    return withDeadline(call, this.#cfg.timeoutMs, () => new Error(`the Kubernetes API did not answer within ${this.#cfg.timeoutMs} ms`));
  }

  /** Every tick: ages stand still while blind; then the shards that are due, as far as the budget goes. */
  async #step(): Promise<void> {
    if (this.#busy || this.#closed) return;
    this.#busy = true;
    try {
      const now = this.#clock.monoMs();
      this.#freeze(now);
      if (!this.#synced) return;
      if (!this.#writable) {
        // Once a second, as the etcd store: an API that is down gets one read a second, one error count.
        if (now - this.#reachedAtMs < 1000 || !this.#budget.take(now)) return;
        this.#reachedAtMs = now;
        await this.#reach();
      }
      const due = this.#shards.filter((s) => this.#isDue(s, now)).sort((a, b) => this.#dueSince(a) - this.#dueSince(b));
      const batch: Shard[] = [];
      for (const s of due) {
        if (!this.#budget.take(now)) break;
        batch.push(s);
      }
      await Promise.all(batch.map((s) => this.#write(s)));
    } catch (e) {
      this.#failed('put', e);
    } finally {
      this.#logAvailability();
      this.#busy = false;
    }
  }

  #isDue(s: Shard, now: number): boolean {
    if (s.pending.size === 0) return false;
    if (s.changedAtMs !== null || this.#owing.has(s.index)) return true;
    return s.staleAtMs !== null && now - s.staleAtMs >= this.#cfg.heartbeatMs;
  }

  #dueSince(s: Shard): number {
    return Math.min(s.changedAtMs ?? Infinity, s.staleAtMs ?? Infinity);
  }

  /** One read: the API answers again (costs a write of the budget, as a write would). */
  async #reach(): Promise<void> {
    await this.#refetch(this.#shards[0] as Shard);
    this.#writable = true;
    this.#log.debug('the Kubernetes API answers again');
  }

  /** Writes a shard: what is stored merged with this replica's pending changes, at the stored resourceVersion. */
  async #write(shard: Shard): Promise<void> {
    const mine = new Map<string, ShardEntry>();
    for (const name of shard.pending) {
      const r = this.#records.get(name);
      if (r && !this.#remote.has(name)) mine.set(name, entryOf(r, this.#states.get(name)));
    }
    const tombs = new Map(shard.tombs);
    const merged = mergeEntries(shard.stored, mine, tombs, this.#basis);
    const body: KubernetesObject & { spec: Record<string, unknown> } = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: KIND,
      metadata: {
        name: shard.name,
        namespace: this.#cfg.namespace,
        ...(shard.rv ? { resourceVersion: shard.rv } : {}),
        labels: { 'app.kubernetes.io/part-of': 'netchecker' },
      },
      spec: shardSpec(merged, this.#writer, this.#clock.wallMs()),
    };
    const where = { group: GROUP, version: VERSION, namespace: this.#cfg.namespace, plural: PLURAL };
    let written: KubernetesObject;
    try {
      written = (await this.#timed(
        shard.rv === null
          ? this.#api.createNamespacedCustomObject({ ...where, body })
          : this.#api.replaceNamespacedCustomObject({ ...where, name: shard.name, body }),
      )) as KubernetesObject;
    } catch (e) {
      const status = statusOf(e);
      // Another replica wrote it first (409), or it was deleted (404): read it afresh, merge on a later tick.
      if (status === 409 || status === 404) {
        this.#log.debug('shard changed meanwhile; merging with a fresh read', { shard: shard.name, status });
        await this.#refetch(shard);
        return;
      }
      throw e;
    }
    const rv = written.metadata?.resourceVersion ?? null;
    shard.stored = merged;
    shard.rv = rv;
    if (rv) this.#seen.set(shard.name, rv);
    for (const [name, at] of tombs) if (shard.tombs.get(name) === at) shard.tombs.delete(name);
    for (const name of mine.keys()) if (this.#records.get(name) && !this.#remote.has(name)) this.#basis.set(name, merged.get(name) ?? null);
    this.#remark(shard);
    this.#owing.delete(shard.index);
  }

  /** Re-judges a shard's pending agents against what is stored now. */
  #remark(shard: Shard): void {
    const now = this.#clock.monoMs();
    shard.changedAtMs = null;
    shard.staleAtMs = null;
    for (const name of [...shard.pending]) this.#mark(shard, name, now);
  }

  /** Reads one shard from the API and takes it in. */
  async #refetch(shard: Shard): Promise<void> {
    const where = { group: GROUP, version: VERSION, namespace: this.#cfg.namespace, plural: PLURAL, name: shard.name };
    try {
      const obj = (await this.#timed(this.#api.getNamespacedCustomObject(where))) as KubernetesObject & { spec?: unknown };
      this.#take(shard, obj);
    } catch (e) {
      if (statusOf(e) !== 404) throw e;
      this.#apply(shard, new Map(), null);
    }
  }

  /** The watch saw changes (or a fresh list, or a failure): takes in every shard whose version moved. */
  #sync(): void {
    try {
      if (this.#watched.failure() !== null) {
        if (this.#frozenAtMs === null && this.#synced) {
          this.#onError('watch');
          this.#frozenAtMs = this.#clock.monoMs();
        }
        return;
      }
      if (!this.#watched.synced()) return;
      if (this.#frozenAtMs !== null) this.#unfreeze();
      const present = new Set<string>();
      for (const obj of this.#watched.objects()) {
        const name = obj.metadata?.name ?? '';
        const shard = this.#byName.get(name);
        if (!shard) {
          if (!this.#foreign.has(name))
            this.#log.warn('ignored an AgentShard of another shard count: give every replica the same --kubernetes-store-shards', {
              object: name,
            });
          this.#foreign.add(name);
          continue;
        }
        present.add(name);
        this.#take(shard, obj);
      }
      // A shard deleted from the API (kubectl delete): its agents are gone there; this replica writes back its own.
      for (const shard of this.#shards) {
        if (!present.has(shard.name) && shard.rv !== null && this.#seen.has(shard.name)) {
          this.#seen.delete(shard.name);
          this.#apply(shard, new Map(), null);
        }
      }
      if (!this.#synced) {
        this.#synced = true;
        this.#onLoaded();
        this.#log.info('loaded the agents from the Kubernetes API', { agents: this.#records.size, shards: present.size });
        this.#changed();
      }
    } catch (e) {
      this.#failed('load', e);
    }
  }

  /** An object as read from the API, unless this version was taken in already (the echo of a write). */
  #take(shard: Shard, obj: KubernetesObject & { spec?: unknown }): void {
    const rv = obj.metadata?.resourceVersion ?? null;
    if (rv !== null && this.#seen.get(shard.name) === rv) return;
    if (rv !== null && shard.rv !== null && isOlder(rv, shard.rv)) return; // a watch event older than our own write's answer
    if (rv !== null) this.#seen.set(shard.name, rv);
    const { entries, invalid } = decodeEntries(obj.spec);
    if (invalid > 0) this.#log.warn('skipped invalid agent entries in an AgentShard', { object: shard.name, invalid });
    this.#apply(shard, entries, rv);
  }

  /**
   * What is stored for a shard now: agents with a later receipt there than here become records
   * from the API, agents gone from it (pruned by another replica) go unless this replica holds a
   * change for them, and this replica's pending agents are judged again.
   */
  #apply(shard: Shard, entries: Entries, rv: string | null): void {
    const nowMono = this.#clock.monoMs();
    const nowWall = this.#clock.wallMs();
    let changed = false;
    for (const [name, e] of entries) {
      const tomb = shard.tombs.get(name);
      if (tomb !== undefined && e.receivedAt <= tomb) continue;
      if (tomb !== undefined) shard.tombs.delete(name); // reported to another replica after the prune here
      const held = this.#records.get(name);
      if (held) {
        const mine = entryOf(held, undefined); // receipt and identity: what decides who holds the record
        if (this.#remote.has(name) ? sameEntry(mine, e) : unchangedSince(e, this.#basis.get(name)) || e.receivedAt <= mine.receivedAt)
          continue;
      }
      this.#records.set(name, recordFromEntry(name, e, nowMono, nowWall));
      this.#remote.add(name);
      this.#basis.delete(name);
      this.#states.delete(name); // another replica holds it now, and judges it
      changed = true;
    }
    for (const name of shard.stored.keys()) {
      if (entries.has(name) || !this.#records.has(name)) continue;
      if (this.#remote.has(name) || !shard.pending.has(name)) {
        this.#records.delete(name);
        this.#remote.delete(name);
        this.#basis.delete(name);
        this.#states.delete(name);
        changed = true;
      }
    }
    shard.stored = new Map(entries);
    shard.rv = rv;
    this.#remark(shard);
    if (changed) this.#changed();
  }

  /** While blind, other replicas' agents keep the age they had (their records are this store's own copies). */
  #freeze(now: number): void {
    if (this.#frozenAtMs === null) return;
    const shift = now - this.#frozenAtMs;
    if (shift < 1000) return; // once a second, as the verdict's tick
    this.#frozenAtMs = now;
    for (const name of this.#remote) {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- it drops readonly, which the rule does not see
      const r = this.#records.get(name) as Mutable<AgentRecord> | undefined;
      if (r) r.receivedMonoMs += shift;
    }
    if (this.#remote.size > 0) this.#changed();
  }

  /** Seeing again: other replicas' agents are aged from their stored receipt times, the fresh list then corrects them. */
  #unfreeze(): void {
    this.#frozenAtMs = null;
    const nowMono = this.#clock.monoMs();
    const nowWall = this.#clock.wallMs();
    for (const name of this.#remote) {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- it drops readonly, which the rule does not see
      const r = this.#records.get(name) as Mutable<AgentRecord> | undefined;
      if (r) r.receivedMonoMs = monoFromWall(r.receivedWallMs, nowMono, nowWall);
    }
    this.#seen.clear(); // the new list is taken in whole
  }

  #failed(op: StoreOp, e: unknown): void {
    this.#onError(op);
    this.#lastError = String(e).slice(0, 300);
    this.#log.debug('Kubernetes API call failed', { op, error: this.#lastError });
    this.#writable = false;
    for (const s of this.#shards) if (s.pending.size > 0) this.#owing.add(s.index);
  }

  #logAvailability(): void {
    const up = this.#up();
    if (up === this.#loggedUp || (!this.#synced && this.#loggedUp === null)) return;
    this.#loggedUp = up;
    if (up) this.#log.info('the Kubernetes API is available', { agents: this.#records.size });
    else {
      const failure = this.#watched.failure();
      this.#log.warn('the Kubernetes API is unavailable: serving from memory, keeping changes for write-back', {
        error: failure?.message ?? this.#lastError,
        queued: this.#queued(),
      });
    }
  }

  #changed(): void {
    for (const l of this.#listeners) l();
  }
}

/** resourceVersions are opaque by contract; etcd-backed servers hand out revisions, so numbers compare. */
function isOlder(a: string, b: string): boolean {
  return /^\d+$/.test(a) && /^\d+$/.test(b) && (a.length < b.length || (a.length === b.length && a < b));
}
