// The etcd store's writes, each one RPC or one transaction: a put under the agent's lease (a lease
// etcd lost is granted anew once), a write-back that never replaces a record received later, and
// a delete only of the revision this replica judged. Remembers the values in flight, because the
// watch may deliver a write's echo before the write itself returns.

import { type ComparatorBuilder, EtcdLeaseInvalidError, type Namespace } from 'etcd3';
import type { LeasePool } from './lease-pool.js';
import { decodeRecord, encodeRecord } from './record-codec.js';
import type { AgentRecord } from './store.js';

export interface EtcdWritesOptions {
  readonly ns: Namespace;
  readonly leases: LeasePool;
  /** Bounds a call by --etcd-timeout. */
  readonly timed: <T>(call: Promise<T>) => Promise<T>;
  /** How long a silent agent's key must live, seconds. */
  readonly ttlOf: (record: AgentRecord) => number;
  readonly onLeaseLost: () => void;
}

export class EtcdWrites {
  readonly #o: EtcdWritesOptions;
  readonly #inFlight = new Map<string, string>();

  constructor(options: EtcdWritesOptions) {
    this.#o = options;
  }

  /** True for the watch echo of a put this replica has not seen return yet. */
  isEcho(name: string, value: Buffer): boolean {
    const v = this.#inFlight.get(name);
    return v !== undefined && v === value.toString();
  }

  /** Resolves to the revision the record (encoded as value) was stored at. */
  async put(record: AgentRecord, value: string): Promise<number> {
    const { ns, timed } = this.#o;
    this.#inFlight.set(record.name, value);
    try {
      return await this.#withLease(record, async (lease) =>
        Number((await timed(ns.put(record.name).value(value).lease(lease).exec())).header.revision),
      );
    } finally {
      if (this.#inFlight.get(record.name) === value) this.#inFlight.delete(record.name);
    }
  }

  /**
   * Put unless etcd holds a record received later (by another replica during an outage): then
   * null. Only a value at a revision above seenRev (what this replica held for the agent when the
   * record arrived) can be later; one at or below it is older whatever the wall clocks say, which
   * may have been stepped since, so it is replaced without comparing receipt times.
   */
  async putUnlessNewer(record: AgentRecord, seenRev: number): Promise<number | null> {
    const { ns, timed } = this.#o;
    for (let attempt = 0; attempt < 3; attempt++) {
      const kv = (await timed(ns.get(record.name).exec())).kvs[0];
      const stored = kv && Number(kv.mod_revision) > seenRev ? decodeRecord(kv.value) : null;
      if (stored?.ok && stored.value.receivedWallMs >= record.receivedWallMs) return null;
      const guard = (): ComparatorBuilder =>
        kv ? ns.if(record.name, 'Mod', '==', kv.mod_revision) : ns.if(record.name, 'Create', '==', 0);
      const res = await this.#withLease(record, (lease) =>
        timed(
          guard()
            .then(ns.put(record.name).value(encodeRecord(record)).lease(lease))
            .commit(),
        ),
      );
      if (res.succeeded) return Number(res.header.revision);
    }
    throw new Error(`write-back of ${record.name} kept racing with other writers`);
  }

  /** Runs a write under the record's lease; a lease etcd no longer knows is granted anew, once. */
  async #withLease<T>(record: AgentRecord, write: (lease: string) => Promise<T>): Promise<T> {
    const { leases, ttlOf } = this.#o;
    const lease = await leases.leaseFor(ttlOf(record));
    try {
      return await write(lease);
    } catch (e) {
      if (!(e instanceof EtcdLeaseInvalidError)) throw e;
      this.#o.onLeaseLost();
      await leases.forget(lease);
      return write(await leases.leaseFor(ttlOf(record)));
    }
  }

  /** Deletes the key only if nobody wrote it after revision rev. */
  async deleteAt(name: string, rev: number): Promise<void> {
    const { ns, timed } = this.#o;
    await timed(ns.if(name, 'Mod', '==', rev).then(ns.delete().key(name)).commit());
  }
}
