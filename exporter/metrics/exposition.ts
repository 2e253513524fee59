// Prepared exposition text, kube-state-metrics style: each object's sample lines are rendered
// when the object changes and kept per family; a scrape only concatenates them, grouped by
// family as the text format requires. Deleting an object removes its series.

import { type Family, formatLabels, header, type Labels, renderSamples } from './family.js';

export class SeriesCache<V> {
  readonly #families: readonly Family<V>[];
  readonly #headers: readonly string[];
  /** key -> one chunk of sample lines per family, in family order. */
  readonly #chunks = new Map<string, string[]>();
  /** Keys in sorted order for a stable exposition; rebuilt only when the key set changes. */
  #order: string[] | null = null;

  constructor(families: readonly Family<V>[]) {
    this.#families = families;
    this.#headers = families.map(header);
  }

  set(key: string, labels: Labels, view: V): void {
    const base = formatLabels(labels);
    if (!this.#chunks.has(key)) this.#order = null;
    this.#chunks.set(
      key,
      this.#families.map((f) => renderSamples(f, base, view)),
    );
  }

  delete(key: string): void {
    if (this.#chunks.delete(key)) this.#order = null;
  }

  /** The whole text; families without samples are left out. */
  text(): string {
    this.#order ??= [...this.#chunks.keys()].sort();
    const rows = this.#order.map((k) => this.#chunks.get(k) as string[]);
    const parts: string[] = [];
    for (let i = 0; i < this.#families.length; i++) {
      const start = parts.push(this.#headers[i] as string);
      for (const chunks of rows) {
        const c = chunks[i] as string;
        if (c) parts.push(c);
      }
      if (parts.length === start) parts.pop();
    }
    return parts.join('');
  }
}

/** Renders a family over a few rows at scrape time (for small, derived families such as counts). */
export function renderRows<V>(f: Family<V>, rows: Iterable<readonly [Labels, V]>): string {
  let out = '';
  for (const [labels, view] of rows) out += renderSamples(f, formatLabels(labels), view);
  return out ? header(f as Family<unknown>) + out : '';
}
