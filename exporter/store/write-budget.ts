// A token bucket for writes to a shared backend: at most `perSecond` on average and one second's
// worth in a burst, so the writes in any window of T seconds stay under perSecond x (T + 1).
// Pure: time comes in as monotonic milliseconds.

export class WriteBudget {
  readonly #perSecond: number;
  readonly #burst: number;
  #tokens: number;
  #atMs: number;

  constructor(perSecond: number, nowMs: number) {
    this.#perSecond = perSecond;
    this.#burst = Math.max(1, perSecond);
    this.#tokens = this.#burst;
    this.#atMs = nowMs;
  }

  /** Takes one write if the budget has it. */
  take(nowMs: number): boolean {
    this.#tokens = Math.min(this.#burst, this.#tokens + (Math.max(0, nowMs - this.#atMs) * this.#perSecond) / 1000);
    this.#atMs = Math.max(this.#atMs, nowMs);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
