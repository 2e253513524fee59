// The etcd store's local view: one record per agent with the etcd revision it was written at, fed
// by this replica's own writes and by the watch. Revisions order the two sources: an event older
// than what the cache holds is ignored, so a late echo never undoes a newer write.
//
// While the watch is down this replica cannot see reports other replicas receive, so it must not
// let those agents age into `outdated`: freeze() keeps the age every record had when the watch
// was lost, except records this replica received itself since then. A reload from etcd after the
// outage replaces the frozen records with the stored ones (ages from their wall-clock receipt).
// The cache holds its own copy of each record and moves a receipt time (freeze, or a reload of
// the same revision) in place: the monitor re-renders an agent's series when its record object
// changes, and at 20,000 agents re-rendering every agent blocks the exporter for seconds (a new
// object for every record every second kept it from answering at all). Pure: time comes in as
// arguments.

import type { AgentRecord } from './store.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Entry {
  /** The cache's own copy: only its receivedMonoMs is ever changed in place. */
  record: Mutable<AgentRecord>;
  /** etcd mod revision of the record; -1 while it waits for write-back. */
  rev: number;
  /** Received by this replica since the watch was last lost (its age is real, never frozen). */
  live: boolean;
  /**
   * This replica's own monotonic receipt time when it received the record itself (null: another
   * replica's); a freeze does not move it, so a reload of the same revision restores the true age
   * instead of one derived from wall clocks, which may have been stepped since.
   */
  ownMonoMs: number | null;
}

export class EtcdCache {
  readonly #entries = new Map<string, Entry>();
  /** Revision of records this replica deleted: a late echo of an older write must not bring them back. */
  readonly #deleted = new Map<string, number>();
  #frozenAtMonoMs: number | null = null;
  /** Highest etcd revision seen: a reload below it means etcd was wiped or restored from a backup. */
  #highestRev = 0;

  get(name: string): AgentRecord | undefined {
    return this.#entries.get(name)?.record;
  }

  *records(): IterableIterator<AgentRecord> {
    for (const e of this.#entries.values()) yield e.record;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** A record this replica received (stored at rev, or -1 while queued). */
  setOwn(record: AgentRecord, rev: number): void {
    const e = this.#entries.get(record.name);
    if (e && e.rev > rev && rev !== -1) return;
    this.#highestRev = Math.max(this.#highestRev, rev);
    this.#entries.set(record.name, { record: { ...record }, rev, live: true, ownMonoMs: record.receivedMonoMs });
  }

  /** A record (or deletion: null) seen in etcd at rev; false when the cache already had newer. */
  applyStored(name: string, record: AgentRecord | null, rev: number): boolean {
    const e = this.#entries.get(name);
    if (e && e.rev >= rev) return false;
    const deletedAt = this.#deleted.get(name);
    if (deletedAt !== undefined) {
      if (deletedAt >= rev) return false;
      this.#deleted.delete(name);
    }
    this.#highestRev = Math.max(this.#highestRev, rev);
    if (record === null) return this.#entries.delete(name);
    this.#entries.set(name, { record: { ...record }, rev, live: false, ownMonoMs: null });
    return true;
  }

  /** This replica deleted the agent (pruned). */
  deleteOwn(name: string): void {
    const e = this.#entries.get(name);
    if (e && e.rev !== -1) this.#deleted.set(name, e.rev);
    this.#entries.delete(name);
  }

  revisionOf(name: string): number | undefined {
    return this.#entries.get(name)?.rev;
  }

  /**
   * The whole prefix as read from etcd at revision rev. Records held at or below rev are replaced
   * (frozen copies included) or dropped when etcd no longer has them; newer ones and those
   * `pending` (waiting for write-back) stay. Ends a freeze. True when anything changed.
   */
  reload(found: ReadonlyMap<string, { record: AgentRecord; rev: number }>, rev: number, pending: (name: string) => boolean): boolean {
    let changed = false;
    this.#highestRev = rev;
    for (const [name, e] of this.#entries) {
      if (e.rev === -1 || e.rev > rev || pending(name) || found.has(name)) continue;
      this.#entries.delete(name);
      changed = true;
    }
    for (const [name, f] of found) {
      const e = this.#entries.get(name);
      if (pending(name) || (e && (e.rev > f.rev || (e.rev === f.rev && e.live))) || (this.#deleted.get(name) ?? -1) >= f.rev) continue;
      const own = e && e.rev === f.rev ? e.ownMonoMs : null;
      const receivedMonoMs = own ?? f.record.receivedMonoMs;
      if (e && e.rev === f.rev) {
        // The same record: only its age may have to be restored, and the object stays.
        if (e.record.receivedMonoMs === receivedMonoMs) continue;
        e.record.receivedMonoMs = receivedMonoMs;
      } else this.#entries.set(name, { record: { ...f.record, receivedMonoMs }, rev: f.rev, live: false, ownMonoMs: own });
      changed = true;
    }
    for (const [name, at] of this.#deleted) {
      const f = found.get(name);
      if (at <= rev && (!f || f.rev > at)) this.#deleted.delete(name);
    }
    this.#frozenAtMonoMs = null;
    return changed;
  }

  /**
   * The highest etcd revision this cache has seen. A read sent now answers at this revision or
   * later unless etcd lost its data (or was restored); take it before sending: a put answered
   * while the read is in flight may have been served after it.
   */
  get highestRevision(): number {
    return this.#highestRev;
  }

  /** The watch was lost at nowMonoMs: from here on, ages of records not received here stand still. */
  watchLost(nowMonoMs: number): void {
    if (this.#frozenAtMonoMs !== null) return;
    this.#frozenAtMonoMs = nowMonoMs;
    for (const e of this.#entries.values()) e.live = false;
  }

  /** Moves frozen records' receipt times forward by the time passed (in place); true when any moved. */
  freeze(nowMonoMs: number): boolean {
    if (this.#frozenAtMonoMs === null) return false;
    const shift = nowMonoMs - this.#frozenAtMonoMs;
    this.#frozenAtMonoMs = nowMonoMs;
    if (shift <= 0) return false;
    let moved = false;
    for (const e of this.#entries.values()) {
      if (e.live) continue;
      e.record.receivedMonoMs += shift;
      moved = true;
    }
    return moved;
  }

  get frozen(): boolean {
    return this.#frozenAtMonoMs !== null;
  }
}
