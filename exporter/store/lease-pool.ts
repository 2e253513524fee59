// Leases for agent keys. A key must vanish when its agent has been silent for the report TTL, so
// every put attaches the key to a lease that is never kept alive. Granting one lease per report
// would double the RPCs of ingest; instead puts in the same time window share a lease granted
// for ttl + window: a key then lives between ttl and ttl + window after its last put. Leases whose
// keys all moved on simply expire. A lease etcd no longer knows (lost: expired early, revoked,
// data reset) is forgotten and the next put grants a fresh one.

import type { Clock } from '../../lib/clock.js';

/** How long one lease takes new keys: a tenth of the TTL, 1..30 s. */
export function leaseWindowSeconds(ttlSeconds: number): number {
  return Math.min(30, Math.max(1, Math.ceil(ttlSeconds / 10)));
}

interface Held {
  readonly id: Promise<string>;
  readonly grantedMonoMs: number;
}

export class LeasePool {
  readonly #grant: (ttlSeconds: number) => Promise<string>;
  readonly #clock: Clock;
  /** By the TTL asked for (agents with long intervals need longer leases). */
  readonly #held = new Map<number, Held>();

  constructor(grant: (ttlSeconds: number) => Promise<string>, clock: Clock) {
    this.#grant = grant;
    this.#clock = clock;
  }

  /** A lease that keeps a key at least ttlSeconds from now. Concurrent callers share one grant. */
  leaseFor(ttlSeconds: number): Promise<string> {
    const now = this.#clock.monoMs();
    const window = leaseWindowSeconds(ttlSeconds);
    const held = this.#held.get(ttlSeconds);
    if (held && now - held.grantedMonoMs < window * 1000) return held.id;
    const id = this.#grant(ttlSeconds + window);
    const fresh = { id, grantedMonoMs: now };
    this.#held.set(ttlSeconds, fresh);
    // A failed grant must not be reused by the next put.
    id.catch(() => {
      if (this.#held.get(ttlSeconds) === fresh) this.#held.delete(ttlSeconds);
    });
    return id;
  }

  /** Drops a lease etcd reported as not found, so the next put grants a new one. */
  async forget(id: string): Promise<void> {
    for (const [ttl, held] of this.#held) {
      if ((await held.id.catch(() => null)) === id) this.#held.delete(ttl);
    }
  }
}
