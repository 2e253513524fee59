// The etcd store (v3 API, etcd3 client): one key per agent, `<prefix>/agents/<name>`, holding its
// latest record and attached to a lease of the report TTL (lease-pool.ts). Reads come from a local
// cache (etcd-cache.ts) fed by this replica's writes and by a watch on the prefix, so every replica
// sees every report and computes the same verdict.
//
// Outage: a put that etcd does not take within --etcd-timeout (at most 1.25 s) is queued in
// memory (the latest per agent, at most --etcd-queue-max agents; past that the put fails with
// StoreUnavailableError, a 503) and answered as stored; while etcd is unreachable every put is
// queued at once. Once a second the store tries etcd again: when it answers, the queue is
// written back first (never over a newer record another replica stored meanwhile), then the cache
// is reloaded in pages (etcd-limits.ts); reports go straight to etcd again during the reload.
// Ready only when etcd answers, the cache was reloaded since it last failed, the watch runs and
// nothing is queued. Never throws out of a callback: a crash would lose the queue.
//
// Size: a record larger than one etcd request can carry is refused before it is acknowledged
// (RecordTooLargeError, 413); a write etcd still refuses for its size (its limit below
// --etcd-max-request-bytes) is a 413 too, or dropped from the queue with an error log, and never
// makes the store unavailable.

import { Etcd3, type IKeyValue, type IOptions, type Namespace, Range, type Watcher } from 'etcd3';
import type { Logger } from '../../lib/log.js';
import { isValidAgentName } from '../../report/schema.js';
import type { Clock } from '../../lib/clock.js';
import { EtcdCache } from './etcd-cache.js';
import { BACKEND_WAIT_MS, StoreUnavailableError } from './deadline.js';
import { clientOptions, withTimeout } from './etcd-client.js';
import type { EtcdConfig } from './etcd-config.js';
import { isSizeRefusal, maxRecordBytes, pageKeys, receiveLimitBytes } from './etcd-limits.js';
import { EtcdWrites } from './etcd-writes.js';
import { LeasePool } from './lease-pool.js';
import { decodeRecord, encodeRecord, monoFromWall } from './record-codec.js';
import { type AgentRecord, RecordTooLargeError, type Store, type StoreContext, type StoreHealth, type StoreOp } from './store.js';

/** Write-backs in flight at once when etcd returns. */
const FLUSH_CONCURRENCY = 32;

/** A key of one zero byte: as a range end, "to the end of the prefix"; appended, "the next key". */
const ZERO_KEY = Buffer.from([0]);

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
  /** A load in progress: the pages read so far, at one revision. */
  #loading: {
    rev: number;
    from: Buffer;
    found: Map<string, { record: AgentRecord; rev: number }>;
    pages: number;
    bytes: number;
    startedMs: number;
  } | null = null;
  /** Last logged availability, so the log says when it changes, not per failure. */
  #loggedUp: boolean | null = null;
  #lastError: unknown = null;

  static async open({ etcd: cfg, reportTtlSeconds, clock, log, onError }: StoreContext): Promise<EtcdStore> {
    if (!cfg) throw new Error('--store etcd needs --etcd-endpoints');
    const store = new EtcdStore(cfg, await clientOptions(cfg), clock, log.child({ store: 'etcd' }), onError, reportTtlSeconds);
    await store.#step();
    await store.#watchConnected();
    return store;
  }

  private constructor(
    cfg: EtcdConfig,
    options: IOptions,
    clock: Clock,
    log: Logger,
    onError: (op: StoreOp) => void,
    reportTtlSeconds: number,
  ) {
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
    const value = encodeRecord(record);
    const bytes = Buffer.byteLength(value);
    const max = maxRecordBytes(this.#cfg.maxRequestBytes);
    if (bytes > max)
      throw new RecordTooLargeError(
        `Its record is ${bytes} bytes; etcd holds records up to ${max} bytes (--etcd-max-request-bytes ${this.#cfg.maxRequestBytes} less ${this.#cfg.maxRequestBytes - max}).`,
      );
    if (!this.#writable || this.#queue.size > 0) return this.#enqueue(record);
    try {
      // A put etcd has not taken by then is queued (the write may still land; write-back reconciles).
      this.#cache.setOwn(record, await withTimeout(this.#writes.put(record, value), Math.min(this.#cfg.timeoutMs, BACKEND_WAIT_MS)));
    } catch (e) {
      if (isSizeRefusal(e)) {
        // etcd's own limit is below --etcd-max-request-bytes: this record can never be stored.
        this.#onError('put');
        this.#log.warn("etcd refused a record for its size; set --etcd-max-request-bytes to the etcd server's --max-request-bytes", {
          agent: record.name,
          bytes,
          error: String(e),
        });
        throw new RecordTooLargeError(`etcd refused its ${bytes}-byte record: ${(e as Error).message}`);
      }
      this.#failed('put', e);
      this.#enqueue(record);
    }
  }

  async delete(name: string): Promise<void> {
    const rev = this.#cache.revisionOf(name);
    if (rev === undefined) return;
    this.#cache.deleteOwn(name);
    if (rev === -1)
      this.#queue.delete(name); // never stored: nothing to delete in etcd
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
    return this.#up() && this.#queue.size === 0;
  }

  synced(): boolean {
    return this.#synced;
  }

  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /** Every replica derives the verdict from the full records it holds. */
  judged(): void {}

  health(): StoreHealth {
    return { up: this.#up(), queued: this.#queue.size };
  }

  /** etcd answers and this replica sees its changes: loaded, watching, and not blind since (frozen). */
  #up(): boolean {
    return this.#synced && this.#writable && this.#watching && !this.#cache.frozen;
  }

  async close(): Promise<void> {
    clearInterval(this.#tick);
    this.#dropWatcher();
    if (this.#queue.size > 0) this.#log.warn('closing with reports not written to etcd', { queued: this.#queue.size });
    this.#client.close();
  }

  /**
   * Once a second: freeze ages while blind, reach etcd again, write back the queue, reload. The
   * write-back comes before the reload: what was acknowledged is in etcd as soon as etcd answers,
   * however long the reload of a large prefix takes.
   */
  async #step(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    let op: StoreOp = 'load';
    try {
      if (this.#cache.freeze(this.#clock.monoMs())) this.#changed();
      if (!this.#writable || !this.#synced || this.#needsReload || !this.#watcher || this.#queue.size > 0) {
        await this.#reach();
        if (this.#queue.size > 0) {
          op = 'put';
          await this.#flush();
          op = 'load';
        }
        await this.#load();
      }
    } catch (e) {
      this.#failed(op, e);
    } finally {
      this.#logAvailability();
      this.#busy = false;
    }
  }

  /** One small read: etcd answers (puts may go to it again) and its revision shows whether it was wiped. */
  async #reach(): Promise<void> {
    const seen = this.#cache.highestRevision;
    const res = await withTimeout(this.#ns.get('').exec(), this.#cfg.timeoutMs);
    this.#checkRevision(Number(res.header.revision), seen);
    this.#writable = true;
  }

  /** `seen`: the highest revision known when the read that answered at `rev` was sent. */
  #checkRevision(rev: number, seen: number): void {
    if (rev >= seen) return;
    // A wiped or restored etcd: what this replica holds is the latest there is, so it goes back.
    this.#log.warn('etcd holds an older state than this exporter saw: writing back every record it holds', {
      revision: rev,
      agents: this.#cache.size,
    });
    // Queued ones too: the revisions they were compared against belong to the old etcd.
    for (const r of [...this.#cache.records()]) this.#enqueue(r, 'wiped');
  }

  /**
   * Reads the whole prefix into the cache, in pages at the first page's revision (each page fits
   * the client's receive limit, each read is bounded by --etcd-timeout), and watches from there.
   * A failed page does not lose the pages before it: the next try goes on from there, at the same
   * revision, unless etcd no longer has that revision (compacted, or etcd was reset).
   */
  async #load(): Promise<void> {
    const l = (this.#loading ??= { rev: 0, from: Buffer.alloc(0), found: new Map(), pages: 0, bytes: 0, startedMs: this.#clock.monoMs() });
    const limit = pageKeys(this.#cfg.maxRequestBytes);
    for (;;) {
      const page = this.#ns.getAll().inRange(new Range(l.from, ZERO_KEY)).limit(limit);
      const seen = this.#cache.highestRevision;
      const res = await withTimeout((l.rev === 0 ? page : page.revision(l.rev)).exec(), this.#cfg.timeoutMs).catch((e: unknown) => {
        if (/revision/.test(String(e))) this.#loading = null; // "required revision has been compacted" or "is a future revision"
        throw e;
      });
      if (l.rev === 0) {
        l.rev = Number(res.header.revision);
        this.#checkRevision(l.rev, seen);
      }
      l.pages++;
      for (const kv of res.kvs) {
        l.bytes += kv.key.length + kv.value.length;
        const record = this.#decode(kv);
        if (record) l.found.set(record.name, { record, rev: Number(kv.mod_revision) });
      }
      const last = res.kvs[res.kvs.length - 1];
      if (!res.more || !last) break;
      l.from = Buffer.concat([last.key, ZERO_KEY]); // the next key after the last one read
    }
    this.#loading = null;
    const changed = this.#cache.reload(l.found, l.rev, (name) => this.#queue.has(name));
    this.#synced = true;
    this.#writable = true;
    this.#needsReload = false;
    this.#watch(l.rev + 1);
    this.#log.debug('loaded the agents from etcd', {
      agents: l.found.size,
      pages: l.pages,
      bytes: l.bytes,
      revision: l.rev,
      ms: Math.round(this.#clock.monoMs() - l.startedMs),
    });
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
      this.#log.warn('skipped an invalid value in etcd', {
        key: `${this.#cfg.prefix}/agents/${name}`,
        revision: kv.mod_revision,
        error: d.error,
      });
      return null;
    }
    const { report, receivedWallMs, source } = d.value;
    return {
      name,
      report,
      receivedWallMs,
      source,
      receivedMonoMs: monoFromWall(receivedWallMs, this.#clock.monoMs(), this.#clock.wallMs()),
    };
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
      throw new StoreUnavailableError(
        max === 0
          ? 'etcd is unavailable and write-back is off (--etcd-queue-max 0)'
          : `etcd is unavailable and ${max} agents already wait for write-back`,
      );
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
            const rev = await this.#writes.putUnlessNewer(p.record, p.seenRev).catch((e: unknown) => this.#refusedForSize(p.record, e));
            if (rev !== null) this.#cache.setOwn(p.record, rev);
          } else await this.#writes.deleteAt(name, p.deleteRev);
          if (this.#queue.get(name) === p) this.#queue.delete(name);
        }),
      );
    }
    return items.length;
  }

  /**
   * A queued record etcd refuses for its size (its limit is below --etcd-max-request-bytes) would
   * be refused on every try and keep the store unavailable: it is dropped, loudly. Other errors
   * are thrown on.
   */
  #refusedForSize(record: AgentRecord, e: unknown): null {
    if (!isSizeRefusal(e)) throw e;
    this.#onError('put');
    const bytes = Buffer.byteLength(encodeRecord(record));
    this.#log.error(
      "etcd refused a queued record for its size and it was dropped; set --etcd-max-request-bytes to the etcd server's --max-request-bytes",
      { agent: record.name, bytes, error: String(e) },
    );
    return null;
  }

  #failed(op: StoreOp, e: unknown): void {
    this.#onError(op);
    this.#log.debug('etcd call failed', { op, error: String(e) });
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
      const size = isSizeRefusal(this.#lastError)
        ? { receiveLimitBytes: receiveLimitBytes(this.#cfg.maxRequestBytes), maxRequestBytes: this.#cfg.maxRequestBytes }
        : {};
      const fields = { endpoints: this.#cfg.endpoints, error: String(this.#lastError), ...size, queued: this.#queue.size };
      this.#log.warn('etcd is unavailable: serving from the cache, queueing reports for write-back', fields);
    }
  }

  #changed(): void {
    for (const l of this.#listeners) l();
  }
}
