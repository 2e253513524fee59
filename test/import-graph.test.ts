// The one-way rooms of style.md, enforced over the import graph of the product code (every
// relative import, `import type` and dynamic import() included): no cycle; the pure and backend
// folders of the exporter never import its HTTP layer, server, monitor, config or main; report/
// and lib/ import nothing of ours outside themselves; agent and exporter never import each other.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PRODUCT = ['agent', 'exporter', 'report', 'lib', 'check', 'local'];
const IMPORT = /(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((f) => {
    const path = join(dir, f);
    if (statSync(join(ROOT, path)).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** File -> the files of ours it imports (paths relative to the root, .ts). */
function importGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of [...PRODUCT.flatMap(sources), 'cli.ts']) {
    const targets = new Set<string>();
    for (const m of readFileSync(join(ROOT, file), 'utf8').matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2]) as string;
      if (spec.startsWith('.')) targets.add(normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts'));
    }
    graph.set(file, targets);
  }
  return graph;
}

const under = (file: string, dir: string): boolean => file.startsWith(`${dir}/`);

/** Edges that break a rule, as "from -> to (rule)". */
function forbiddenEdges(graph: Map<string, Set<string>>): string[] {
  const inner = ['exporter/store', 'exporter/discovery', 'exporter/verdict', 'exporter/peers', 'exporter/metrics', 'exporter/status'];
  const outer = (f: string): boolean =>
    under(f, 'exporter/api') || ['exporter/server.ts', 'exporter/monitor.ts', 'exporter/config.ts', 'exporter/main.ts'].includes(f);
  const out: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      if (inner.some((d) => under(from, d)) && outer(to))
        out.push(
          `${from} -> ${to} (store, discovery, verdict, peers, metrics and status never import the HTTP layer, server, monitor, config or main)`,
        );
      for (const self of ['report', 'lib'])
        if (under(from, self) && !under(to, self)) out.push(`${from} -> ${to} (${self}/ imports nothing of ours outside itself)`);
      if ((under(from, 'agent') && under(to, 'exporter')) || (under(from, 'exporter') && under(to, 'agent')))
        out.push(`${from} -> ${to} (agent and exporter never import each other)`);
    }
  }
  return out;
}

/** Strongly connected components of more than one file (Tarjan). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop() as string;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const graph = importGraph();

t.test('the graph is read: every product file, with its imports', async (t) => {
  t.ok(graph.size > 50, `${graph.size} files`);
  t.ok(graph.get('exporter/main.ts')?.has('exporter/monitor.ts'), 'a static import is seen');
  t.ok(graph.get('exporter/store/stores.ts')?.has('exporter/store/etcd.ts'), 'a dynamic import() is seen');
});

t.test('no import cycle, type-only links included', async (t) => {
  t.same(cycles(graph), []);
});

t.test('imports go one way only', async (t) => {
  t.same(forbiddenEdges(graph), []);
});

t.test('the rules catch what they forbid', async (t) => {
  const bad = new Map<string, Set<string>>([
    ['exporter/store/etcd.ts', new Set(['exporter/api/reports.ts', 'exporter/config.ts'])],
    ['report/schema.ts', new Set(['lib/flags.ts'])],
    ['agent/main.ts', new Set(['exporter/errors.ts'])],
    ['exporter/api/reports.ts', new Set(['exporter/store/etcd.ts'])],
  ]);
  t.equal(forbiddenEdges(bad).length, 4, 'three kinds of rule, four edges; an api -> store edge is allowed');
  t.same(
    cycles(
      new Map([
        ['a.ts', new Set(['b.ts'])],
        ['b.ts', new Set(['a.ts'])],
      ]),
    ),
    [['a.ts', 'b.ts']],
  );
});
