// The etcd store (v3 API, etcd3 client): one key per agent, `<prefix>/agents/<name>`, holding its
// latest record and attached to a lease of the report TTL (lease-pool.ts). Reads come from a local
// cache (etcd-cache.ts) fed by this replica's writes and by a watch on the prefix, so every replica
// sees every report and computes the same verdict.
//
// Outage: a put that etcd does not take within --etcd-timeout (at most 1.25 s) is queued in
// memory (the latest per agent, at most --etcd-queue-max agents; past that the put fails with
// StoreUnavailableError, a 503) and answered as stored; while etcd is unreachable every put is
// queued at once. Once a second the store tries etcd again: when it answers, the queue is
// written back (never over a newer record another replica stored meanwhile), then the cache is
// reloaded. Ready only when etcd answers, the watch runs and nothing is queued. Never throws out
// of a callback: a crash would lose the queue.

import { Etcd3, type IKeyValue, type IOptions, type Namespace, type Watcher } from 'etcd3';
import type { Logger } from '../../lib/log.js';
import { isValidAgentName } from '../../report/schema.js';
import type { Clock } from '../monitor.js';
import { EtcdCache } from './etcd-cache.js';
import { BACKEND_WAIT_MS, StoreUnavailableError } from './deadline.js';
import { clientOptions, withTimeout } from './etcd-client.js';
import type { EtcdConfig } from './etcd-config.js';
import { EtcdWrites } from './etcd-writes.js';
import { LeasePool } from './lease-pool.js';
import { decodeRecord, monoFromWall } from './record-codec.js';
import type { AgentRecord, Store, StoreContext, StoreHealth, StoreOp } from './store.js';

/** Write-backs in flight at once when etcd returns. */
const FLUSH_CONCURRENCY = 32;

/**
 * A write waiting for etcd: the record with the revision this replica held for the agent when the
 * record arrived (-1: none, or not comparable after a wipe), or a delete of the revision it saw.
 */
type Pending = { readonly record: AgentRecord; readonly seenRev: number } | { readonly deleteRev: number };

export class EtcdStore implements Store {
  readonly local = false;
  readonly #client: Etcd3;
  readonly #ns: Namespace;
  readonly #cfg: EtcdConfig;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #onError: (op: StoreOp) => void;
  readonly #cache = new EtcdCache();
  readonly #queue = new Map<string, Pending>();
  readonly #writes: EtcdWrites;
  readonly #listeners: Array<() => void> = [];
  readonly #tick: NodeJS.Timeout;
  #watcher: Watcher | null = null;
  #synced = false;
  #writable = false;
  #watching = false;
  #needsReload = false;
  #busy = false;
  /** Last logged availability, so the log says when it changes, not per failure. */
  #loggedUp: boolean | null = null;
  #lastError: unknown = null;

  static async open({ config, clock, log, onError }: StoreContext): Promise<EtcdStore> {
    const cfg = config.etcd;
    if (!cfg) throw new Error('--store etcd needs --etcd-endpoints');
    const store = new EtcdStore(cfg, await clientOptions(cfg), clock, log.child({ store: 'etcd' }), onError, config.reportTtlSeconds);
    await store.#step();
    await store.#watchConnected();
    return store;
  }

  private constructor(cfg: EtcdConfig, options: IOptions, clock: Clock, log: Logger, onError: (op: StoreOp) => void, reportTtlSeconds: number) {
    this.#cfg = cfg;
    this.#clock = clock;
    this.#log = log;
    this.#onError = onError;
    this.#client = new Etcd3(options);
    this.#ns = this.#client.namespace(`${cfg.prefix}/agents/`);
    const timed = <T>(call: Promise<T>): Promise<T> => withTimeout(call, cfg.timeoutMs);
    const leases = new LeasePool(async (ttl) => (await timed(this.#client.leaseClient.leaseGrant({ TTL: ttl }))).ID, clock);
    // As long as the monitor keeps a silent agent: the report TTL, and at least 3 intervals.
    const ttlOf = (r: AgentRecord): number => Math.max(reportTtlSeconds, 3 * r.report.intervalSeconds);
    this.#writes = new EtcdWrites({ ns: this.#ns, leases, timed, ttlOf, onLeaseLost: () => onError('lease') });
    this.#tick = setInterval(() => void this.#step(), 1000);
    this.#tick.unref();
  }

  async put(record: AgentRecord): Promise<void> {
    if (!this.#writable || this.#queue.size > 0) return this.#enqueue(record);
    try {
      // A put etcd has not taken by then is queued (the write may still land; write-back reconciles).
      this.#cache.setOwn(record, await withTimeout(this.#writes.put(record), Math.min(this.#cfg.timeoutMs, BACKEND_WAIT_MS)));
    } catch (e) {
      this.#failed('put', e);
      this.#enqueue(record);
    }
  }

  async delete(name: string): Promise<void> {
    const rev = this.#cache.revisionOf(name);
    if (rev === undefined) return;
    this.#cache.deleteOwn(name);
    if (rev === -1) this.#queue.delete(name); // never stored: nothing to delete in etcd
    else if (!this.#writable || this.#queue.size > 0) this.#queue.set(name, { deleteRev: rev });
    else {
      try {
        await this.#writes.deleteAt(name, rev);
      } catch (e) {
        this.#failed('delete', e);
        this.#queue.set(name, { deleteRev: rev });
      }
    }
  }

  get(name: string): AgentRecord | undefined {
    return this.#cache.get(name);
  }

  records(): IterableIterator<AgentRecord> {
    return this.#cache.records();
  }

  ready(): boolean {
    return this.#synced && this.#writable && this.#watching && this.#queue.size === 0;
  }

  synced(): boolean {
    return this.#synced;
  }

  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  health(): StoreHealth {
    return { up: this.#synced && this.#writable && this.#watching, queued: this.#queue.size };
  }

  async close(): Promise<void> {
    clearInterval(this.#tick);
    this.#dropWatcher();
    if (this.#queue.size > 0) this.#log.warn('closing with reports not written to etcd', { queued: this.#queue.size });
    this.#client.close();
  }

  /** Once a second: freeze ages while blind, reach etcd again, write back the queue, reload. */
  async #step(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    let op: StoreOp = 'load';
    try {
      if (this.#cache.freeze(this.#clock.monoMs())) this.#changed();
      if (!this.#writable || !this.#synced || this.#needsReload || !this.#watcher) await this.#load();
      if (this.#queue.size > 0) {
        op = 'put';
        await this.#flush();
        op = 'load';
        await this.#load();
      }
    } catch (e) {
      this.#failed(op, e);
    } finally {
      this.#logAvailability();
      this.#busy = false;
    }
  }

  /** Reads the whole prefix into the cache and watches from the revision read. */
  async #load(): Promise<void> {
    const res = await withTimeout(this.#ns.getAll().exec(), this.#cfg.timeoutMs);
    const rev = Number(res.header.revision);
    if (this.#cache.isBehind(rev)) {
      // A wiped or restored etcd: what this replica holds is the latest there is, so it goes back.
      this.#log.warn('etcd holds an older state than this exporter saw: writing back every record it holds', { revision: rev, agents: this.#cache.size });
      // Queued ones too: the revisions they were compared against belong to the old etcd.
      for (const r of [...this.#cache.records()]) this.#enqueue(r, 'wiped');
    }
    const found = new Map<string, { record: AgentRecord; rev: number }>();
    for (const kv of res.kvs) {
      const record = this.#decode(kv);
      if (record) found.set(record.name, { record, rev: Number(kv.mod_revision) });
    }
    const changed = this.#cache.reload(found, rev, (name) => this.#queue.has(name));
    this.#synced = true;
    this.#writable = true;
    this.#needsReload = false;
    this.#watch(rev + 1);
    if (changed) this.#changed();
  }

  #watch(fromRev: number): void {
    this.#dropWatcher();
    const w = this.#ns.watch().prefix('').startRevision(String(fromRev)).watcher();
    this.#watcher = w;
    w.on('connected', () => {
      if (this.#watcher === w) this.#watching = true;
    });
    w.on('disconnected', () => this.#watchLost(w, false));
    // The server cancelled the watch (e.g. revision compacted): it is gone, reload and watch anew.
    w.on('error', () => this.#watchLost(w, true));
    w.on('put', (kv) => this.#event(w, kv, false));
    w.on('delete', (kv) => this.#event(w, kv, true));
  }

  /** Resolves once the watch runs, or after --etcd-timeout (then the store starts not ready). */
  async #watchConnected(): Promise<void> {
    const w = this.#watcher;
    if (!w || this.#watching) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.#cfg.timeoutMs);
      w.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #dropWatcher(): void {
    const w = this.#watcher;
    if (!w) return;
    this.#watcher = null;
    this.#watching = false;
    w.removeAllListeners();
    w.on('error', () => {}); // a late error on an unlistened emitter would crash the process
    void w.cancel().catch(() => {});
  }

  #watchLost(w: Watcher, gone: boolean): void {
    if (this.#watcher !== w) return;
    this.#onError('watch');
    this.#watching = false;
    this.#needsReload = true;
    if (gone) this.#dropWatcher();
    this.#cache.watchLost(this.#clock.monoMs());
  }

  #event(w: Watcher, kv: IKeyValue, deleted: boolean): void {
    const name = kv.key.toString();
    if (this.#watcher !== w || this.#queue.has(name) || (!deleted && this.#writes.isEcho(name, kv.value))) return;
    const rev = Number(kv.mod_revision);
    // An invalid value means the agent has no valid record, as a reload would conclude.
    const record = deleted ? null : this.#decode(kv);
    if (this.#cache.applyStored(name, record, rev)) this.#changed();
  }

  /** A stored value as a record on this replica's clock; null (logged) when it is not valid. */
  #decode(kv: IKeyValue): AgentRecord | null {
    const name = kv.key.toString();
    const d = isValidAgentName(name) ? decodeRecord(kv.value) : { ok: false as const, error: 'the key is not an agent name' };
    if (!d.ok) {
      this.#log.warn('skipped an invalid value in etcd', { key: `${this.#cfg.prefix}/agents/${name}`, revision: kv.mod_revision, error: d.error });
      return null;
    }
    const { report, receivedWallMs, source } = d.value;
    return { name, report, receivedWallMs, source, receivedMonoMs: monoFromWall(receivedWallMs, this.#clock.monoMs(), this.#clock.wallMs()) };
  }

  /**
   * Queues a record for write-back: a report to answer (refused past --etcd-queue-max), or one
   * this replica holds that a wiped etcd lost (its revisions mean nothing to the new etcd).
   */
  #enqueue(record: AgentRecord, from: 'report' | 'wiped' = 'report'): void {
    const waiting = this.#queue.get(record.name);
    // A put whose etcd write failed after a later report of the agent was queued never replaces it.
    if (waiting && 'record' in waiting && waiting.record.receivedMonoMs > record.receivedMonoMs) return;
    const max = this.#cfg.queueMax;
    if (from === 'report' && this.#queue.size >= max && !waiting) {
      throw new StoreUnavailableError(max === 0 ? 'etcd is unavailable and write-back is off (--etcd-queue-max 0)' : `etcd is unavailable and ${max} agents already wait for write-back`);
    }
    const held = waiting && 'record' in waiting ? waiting.seenRev : Math.max(-1, this.#cache.revisionOf(record.name) ?? -1);
    const seenRev = from === 'wiped' ? -1 : held;
    this.#queue.set(record.name, { record, seenRev });
    this.#cache.setOwn(record, -1);
  }

  /**
   * Writes the queue back until it is empty (reports keep arriving and queue meanwhile); stops at
   * the first failure, the rest waits for the next second.
   */
  async #flush(): Promise<void> {
    let written = 0;
    while (this.#queue.size > 0) written += await this.#flushRound();
    this.#log.info('queued reports written back to etcd', { count: written });
  }

  async #flushRound(): Promise<number> {
    const items = [...this.#queue];
    for (let i = 0; i < items.length; i += FLUSH_CONCURRENCY) {
      await Promise.all(
        items.slice(i, i + FLUSH_CONCURRENCY).map(async ([name, p]) => {
          if ('record' in p) {
            const rev = await this.#writes.putUnlessNewer(p.record, p.seenRev);
            if (rev !== null) this.#cache.setOwn(p.record, rev);
          } else await this.#writes.deleteAt(name, p.deleteRev);
          if (this.#queue.get(name) === p) this.#queue.delete(name);
        }),
      );
    }
    return items.length;
  }

  #failed(op: StoreOp, e: unknown): void {
    this.#onError(op);
    this.#writable = false;
    this.#lastError = e;
    // A watch may stay open on a member that lost its quorum: blind either way until a reload.
    this.#cache.watchLost(this.#clock.monoMs());
  }

  #logAvailability(): void {
    const up = this.#synced && this.#writable;
    if (up === this.#loggedUp) return;
    this.#loggedUp = up;
    if (up) this.#log.info('etcd is available', { endpoints: this.#cfg.endpoints, agents: this.#cache.size });
    else {
      const fields = { endpoints: this.#cfg.endpoints, error: String(this.#lastError), queued: this.#queue.size };
      this.#log.warn('etcd is unavailable: serving from the cache, queueing reports for write-back', fields);
    }
  }

  #changed(): void {
    for (const l of this.#listeners) l();
  }

}
