// SeriesCache against a model: after any sequence of sets and deletes, its exposition is the
// families in order, each with its header and every object's lines in key order, and the
// length it announces (Content-Length of /metrics) is the byte length of that text.
import fc from 'fast-check';
import t from 'tap';
import { type Exposition, expositionLength, expositionText, SeriesCache } from '../exporter/metrics/exposition.js';
import { formatLabels, gauge, gaugeEach, header, renderSamples } from '../exporter/metrics/family.js';

interface View {
  readonly up: number | null;
  readonly items: readonly number[];
}

const families = [
  gauge<View>('test_up', 'Up or not; no sample when null.', (v) => v.up),
  gaugeEach<View>('test_item', 'One sample per item.', ['item'], (v) =>
    v.items.map((value, i) => ({ labels: { item: String(i) }, value })),
  ),
  gauge<View>('test_items', 'How many items.', (v) => v.items.length),
];

function model(objects: ReadonlyMap<string, { labels: Record<string, string>; view: View }>): string {
  const keys = [...objects.keys()].sort();
  let out = '';
  for (const f of families) {
    const lines = keys.map((k) => {
      const o = objects.get(k) as { labels: Record<string, string>; view: View };
      return renderSamples(f, formatLabels(o.labels), o.view);
    });
    if (lines.join('')) out += header(f) + lines.join('');
  }
  return out;
}

t.test('SeriesCache equals its model after random sets and deletes', async (t) => {
  const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
  const view = fc.record({
    up: fc.option(fc.integer({ min: 0, max: 1 })),
    items: fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 3 }),
  });
  // Non-ASCII label values too: their bytes and characters differ.
  const node = fc.constantFrom('n1', 'nœud-2', 'узел', '');
  const op = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), key, node, view }),
    fc.record({ kind: fc.constant('delete' as const), key }),
    fc.constant({ kind: 'scrape' as const }),
  );
  let scrapes = 0;
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      const cache = new SeriesCache<View>(families);
      const objects = new Map<string, { labels: Record<string, string>; view: View }>();
      const check = (): boolean => {
        const out: Exposition = [];
        cache.appendTo(out);
        const text = expositionText(out);
        scrapes++;
        return text === model(objects) && expositionLength(out) === Buffer.byteLength(text);
      };
      for (const o of ops) {
        if (o.kind === 'set') {
          const labels = { agent: o.key, node: o.node };
          cache.set(o.key, labels, o.view);
          objects.set(o.key, { labels, view: o.view });
        } else if (o.kind === 'delete') {
          cache.delete(o.key);
          objects.delete(o.key);
        } else if (!check()) return false;
      }
      return check();
    }),
    { seed: 20261126, numRuns: 2000 },
  );
  t.ok(scrapes > 2000, `${scrapes} expositions compared`);
});

t.test('an exposition taken before later sets stays as it was', async (t) => {
  const cache = new SeriesCache<View>(families);
  cache.set('a', { agent: 'a' }, { up: 1, items: [1, 2] });
  const before: Exposition = [];
  cache.appendTo(before);
  const text = expositionText(before);
  cache.set('a', { agent: 'a' }, { up: 0, items: [] });
  cache.set('b', { agent: 'b' }, { up: 1, items: [3] });
  cache.delete('a');
  t.equal(expositionText(before), text, 'a scrape being written is not changed by reports that arrive meanwhile');
  t.match(text, /test_up\{agent="a"\} 1\n/);
});
