// A bounded map of review results keyed by the SHA-256 of a token (the token itself is never
// kept). Each entry lives until its own expiry; when full, the oldest entry goes first (Map
// insertion order), so a lookup and an insert are O(1) whatever the load.

import { createHash } from 'node:crypto';

/** The cache key of a token: base64 SHA-256. */
export function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('base64');
}

export class ExpiringCache<V> {
  readonly #max: number;
  readonly #entries = new Map<string, { value: V; expiresMs: number }>();

  constructor(maxEntries: number) {
    this.#max = maxEntries;
  }

  /** The value while it has not expired at `nowMs`. */
  get(key: string, nowMs: number): V | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    if (e.expiresMs > nowMs) return e.value;
    this.#entries.delete(key);
    return undefined;
  }

  set(key: string, value: V, expiresMs: number): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(key, { value, expiresMs });
  }

  get size(): number {
    return this.#entries.size;
  }
}
