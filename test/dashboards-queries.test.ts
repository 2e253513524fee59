// The Grafana dashboards as Grafana loads them: current schema, a `datasource` variable every
// query goes through, stable uids, links between the three, and every panel query accepted by
// Prometheus' parser (promtool check rules on throwaway recording rules).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { stringify } from 'yaml';
import { DASHBOARDS } from '../dashboards/all.js';
import { SCHEMA_VERSION, panelQueries, substituteVariables } from '../dashboards/grafana.js';
import { requireBinary } from './helpers/prometheus.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

interface Json {
  uid: string;
  title: string;
  schemaVersion: number;
  tags: string[];
  links: Array<{ type: string; tags: string[] }>;
  templating: { list: Array<{ name: string; type: string; query: unknown; datasource?: { uid: string } }> };
  panels: Array<{
    id: number;
    title: string;
    description: string;
    datasource: { type: string; uid: string };
    gridPos: { x: number; y: number; w: number; h: number };
    targets: Array<{ expr: string; datasource: { uid: string }; refId: string }>;
    fieldConfig: { defaults: { links: Array<{ url: string }> } };
  }>;
}
const dashboards = DASHBOARDS.map((d) => ({ file: d.file, json: JSON.parse(readFileSync(`${ROOT}dashboards/${d.file}`, 'utf8')) as Json }));
/** Values Grafana would send for the variables; the queries must parse with them. */
const VARS = { job: 'netchecker-service', network: '.*', node: 'n1', __rate_interval: '1m', datasource: 'prometheus' };

t.test('three dashboards with stable uids, the current schema and the netchecker tag', async (t) => {
  t.same(dashboards.map((d) => [d.file, d.json.uid]), [
    ['netchecker-overview.json', 'netchecker-overview'],
    ['netchecker-node.json', 'netchecker-node'],
    ['netchecker-network.json', 'netchecker-network'],
  ]);
  for (const { json } of dashboards) {
    t.ok(json.schemaVersion >= 39 && json.schemaVersion === SCHEMA_VERSION, `${json.uid} schemaVersion ${json.schemaVersion}`);
    t.same(json.tags, ['netchecker']);
    t.ok(json.links.some((l) => l.type === 'dashboards' && l.tags.includes('netchecker')), `${json.uid} links to the other netchecker dashboards`);
  }
});

t.test('a datasource variable, and every panel and query reads through it', async (t) => {
  for (const { json } of dashboards) {
    const ds = json.templating.list[0];
    t.same([ds?.name, ds?.type, ds?.query], ['datasource', 'datasource', 'prometheus'], `${json.uid} first variable`);
    for (const v of json.templating.list.slice(1)) t.equal(v.datasource?.uid, '${datasource}', `${json.uid} variable ${v.name}`);
    for (const p of json.panels) {
      t.same(p.datasource, { type: 'prometheus', uid: '${datasource}' }, `${json.uid}: ${p.title}`);
      t.ok(p.targets.length > 0 && p.targets.every((x) => x.datasource.uid === '${datasource}'), `${json.uid}: ${p.title} targets`);
      t.ok(p.description.length > 20, `${json.uid}: ${p.title} says what it shows`);
    }
  }
});

t.test('panels: unique ids, on the 24-column grid, without overlaps', async (t) => {
  for (const { json } of dashboards) {
    t.equal(new Set(json.panels.map((p) => p.id)).size, json.panels.length, `${json.uid} ids`);
    const cells = new Set<string>();
    for (const p of json.panels) {
      const g = p.gridPos;
      t.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24, `${json.uid}: ${p.title} fits`);
      for (let x = g.x; x < g.x + g.w; x++) for (let y = g.y; y < g.y + g.h; y++) {
        const c = `${x},${y}`;
        if (cells.has(c)) t.fail(`${json.uid}: ${p.title} overlaps at ${c}`);
        cells.add(c);
      }
    }
  }
});

t.test('panel links go to netchecker dashboards that exist', async (t) => {
  const uids = new Set(dashboards.map((d) => d.json.uid));
  const linked = new Set<string>();
  for (const { json } of dashboards) {
    for (const p of json.panels) {
      for (const l of p.fieldConfig.defaults.links) {
        const uid = /^\/d\/([\w-]+)\?/.exec(l.url)?.[1];
        t.ok(uid && uids.has(uid), `${json.uid}: ${p.title} -> ${l.url}`);
        if (uid) linked.add(`${json.uid}->${uid}`);
      }
    }
  }
  t.ok(linked.has('netchecker-overview->netchecker-node'), 'overview rows open the node detail');
  t.ok(linked.has('netchecker-overview->netchecker-network'), 'overview opens the network matrix');
  t.ok(linked.has('netchecker-node->netchecker-overview') && linked.has('netchecker-network->netchecker-overview'), 'and back');
});

t.test('every panel query parses (promtool check rules on throwaway recording rules)', async (t) => {
  const promtool = requireBinary(t, 'prometheus', 'promtool');
  if (!promtool) return;
  const queries = dashboards.flatMap(({ json }) => panelQueries(json as unknown as Record<string, unknown>).map((q) => ({ ...q, uid: json.uid })));
  t.ok(queries.length >= 30, `${queries.length} queries`);
  const rules = queries.map((q, i) => ({ record: `dashboard:query_${i}:check`, expr: substituteVariables(q.expr, VARS) }));
  for (const r of rules) t.notMatch(r.expr, /\$/, `no variable left in ${r.expr}`);
  const dir = mkdtempSync(join(tmpdir(), `netchecker-dash-${process.pid}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'queries.yaml'), stringify({ groups: [{ name: 'dashboard-queries', rules }] }));
  const r = spawnSync(promtool, ['check', 'rules', join(dir, 'queries.yaml')], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stdout + r.stderr);
  t.match(r.stdout, `SUCCESS: ${rules.length} rules found`);
  // And a broken query would be caught.
  writeFileSync(join(dir, 'broken.yaml'), stringify({ groups: [{ name: 'x', rules: [{ record: 'a:b:c', expr: 'sum(rate(x[1m])' }] }] }));
  t.not(spawnSync(promtool, ['check', 'rules', join(dir, 'broken.yaml')]).status, 0, 'promtool refuses a broken query');
});
