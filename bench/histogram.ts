// A latency histogram with fixed log-spaced buckets (about 2% wide, 1 µs to 100 s): bounded
// memory whatever the number of samples, percentiles within one bucket's width. Pure.

const MIN_MS = 0.001;
const GROWTH = 1.02;
const BUCKETS = Math.ceil(Math.log(100_000 / MIN_MS) / Math.log(GROWTH)) + 1;

export interface HistogramSnapshot {
  readonly count: number;
  readonly maxMs: number;
  /** Non-empty buckets: [index, count]. */
  readonly buckets: ReadonlyArray<readonly [number, number]>;
}

export class LatencyHistogram {
  #counts = new Float64Array(BUCKETS);
  #count = 0;
  #maxMs = 0;

  record(ms: number): void {
    const i = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / Math.log(GROWTH)));
    this.#counts[i] = (this.#counts[i] ?? 0) + 1;
    this.#count++;
    if (ms > this.#maxMs) this.#maxMs = ms;
  }

  get count(): number {
    return this.#count;
  }

  /** The upper bound of the bucket holding the q-quantile (0 < q <= 1), in ms; 0 without samples. */
  quantileMs(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.ceil(q * this.#count);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i] ?? 0;
      if (seen >= rank) return Math.min(this.#maxMs, MIN_MS * GROWTH ** i);
    }
    return this.#maxMs;
  }

  snapshot(): HistogramSnapshot {
    const buckets: Array<[number, number]> = [];
    this.#counts.forEach((c, i) => c > 0 && buckets.push([i, c]));
    return { count: this.#count, maxMs: this.#maxMs, buckets };
  }

  static from(s: HistogramSnapshot): LatencyHistogram {
    const h = new LatencyHistogram();
    for (const [i, c] of s.buckets) h.#counts[i] = c;
    h.#count = s.count;
    h.#maxMs = s.maxMs;
    return h;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#maxMs = 0;
  }
}
