// Prepared exposition text, kube-state-metrics style: each object's sample lines are rendered
// when the object changes and kept as bytes per family; a scrape only copies them out, grouped
// by family as the text format requires (api/respond.ts). Deleting an object removes its series.

import { type Family, formatLabels, header, type Labels, renderSamples } from './family.js';

const EMPTY = Buffer.alloc(0);

/** One family's lines over all objects of a cache, in key order: `rows[k][family]` for each k. */
export interface FamilyLines {
  readonly rows: readonly (readonly Buffer[])[];
  readonly family: number;
  /** Total bytes, known without touching the rows. */
  readonly length: number;
}

/**
 * A scrape's body in order: bytes, or references to a family's lines. The references keep a
 * scrape from gathering 100,000s of chunks into one array (an array that size goes straight to
 * V8's old generation, and made every scrape bring the next full GC closer).
 */
export type Exposition = Array<Buffer | FamilyLines>;

export function expositionLength(parts: Exposition): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

/** The whole exposition as text (tests, small outputs). */
export function expositionText(parts: Exposition): string {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    if (Buffer.isBuffer(p)) chunks.push(p);
    else for (const row of p.rows) chunks.push(row[p.family] as Buffer);
  }
  return Buffer.concat(chunks).toString();
}

export class SeriesCache<V> {
  readonly #families: readonly Family<V>[];
  readonly #headers: readonly Buffer[];
  /**
   * key -> its sample lines per family, in family order: views into one buffer per object, as
   * one encoding per object costs much less than one per family.
   */
  readonly #chunks = new Map<string, Buffer[]>();
  /** Bytes per family over all objects, kept up to date so a scrape knows its length at once. */
  readonly #bytes: number[];
  /** Keys in sorted order for a stable exposition; rebuilt only when the key set changes. */
  #order: string[] | null = null;

  constructor(families: readonly Family<V>[]) {
    this.#families = families;
    this.#headers = families.map((f) => Buffer.from(header(f)));
    this.#bytes = families.map(() => 0);
  }

  set(key: string, labels: Labels, view: V): void {
    const base = formatLabels(labels);
    const parts = this.#families.map((f) => renderSamples(f, base, view));
    const text = parts.join('');
    const bytes = Buffer.from(text);
    const ascii = bytes.length === text.length; // then characters and bytes line up
    let at = 0;
    // A view costs about 100 bytes of heap; most objects have no lines in some families.
    const chunks = parts.map((p) => (p === '' ? EMPTY : bytes.subarray(at, (at += ascii ? p.length : Buffer.byteLength(p)))));
    const before = this.#chunks.get(key);
    if (!before) this.#order = null;
    this.#count(before, -1);
    this.#count(chunks, 1);
    this.#chunks.set(key, chunks);
  }

  delete(key: string): void {
    const before = this.#chunks.get(key);
    if (!before) return;
    this.#count(before, -1);
    this.#chunks.delete(key);
    this.#order = null;
  }

  #count(chunks: readonly Buffer[] | undefined, sign: 1 | -1): void {
    if (chunks) for (let i = 0; i < chunks.length; i++) (this.#bytes[i] as number) += sign * (chunks[i] as Buffer).length;
  }

  /**
   * Appends the exposition, family by family, to `out`; families without samples are left out.
   * Bytes, not strings: a scrape then only copies them, with no string join and no second UTF-8
   * encoding of tens of megabytes at 10,000 agents. The rows are this moment's: later sets
   * replace an object's chunks, never change them.
   */
  appendTo(out: Exposition): void {
    this.#order ??= [...this.#chunks.keys()].sort();
    const rows = this.#order.map((k) => this.#chunks.get(k) as Buffer[]);
    for (let i = 0; i < this.#families.length; i++) {
      const length = this.#bytes[i] as number;
      if (length > 0) out.push(this.#headers[i] as Buffer, { rows, family: i, length });
    }
  }
}

/** Renders a family over a few rows at scrape time (for small, derived families such as counts). */
export function renderRows<V>(f: Family<V>, rows: Iterable<readonly [Labels, V]>): string {
  let out = '';
  for (const [labels, view] of rows) out += renderSamples(f, formatLabels(labels), view);
  return out ? header(f) + out : '';
}
