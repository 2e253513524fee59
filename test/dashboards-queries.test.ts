// The Grafana dashboards as Grafana loads them: current schema, a `datasource` variable every
// query goes through, a `cluster` variable on the configurable cluster label that every query
// and link carries, firing alerts as annotations, tables without scrape-target columns, titles
// and units that say what the query computes, stable uids, links between the three, and every
// query accepted by Prometheus' parser (promtool check rules on throwaway recording rules).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { stringify } from 'yaml';
import { DASHBOARDS } from '../dashboards/all.js';
import { SCHEMA_VERSION, dashboard, panelQueries, substituteVariables } from '../dashboards/grafana.js';
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
const VARS = { cluster: '.*', job: 'netchecker-service', network: '.*', node: 'n1', __rate_interval: '1m', datasource: 'prometheus' };

t.test('three dashboards with stable uids, the current schema and the netchecker tag', async (t) => {
  t.same(
    dashboards.map((d) => [d.file, d.json.uid]),
    [
      ['netchecker-overview.json', 'netchecker-overview'],
      ['netchecker-node.json', 'netchecker-node'],
      ['netchecker-network.json', 'netchecker-network'],
    ],
  );
  for (const { json } of dashboards) {
    t.ok(json.schemaVersion >= 39 && json.schemaVersion === SCHEMA_VERSION, `${json.uid} schemaVersion ${json.schemaVersion}`);
    t.same(json.tags, ['netchecker']);
    t.ok(
      json.links.some((l) => l.type === 'dashboards' && l.tags.includes('netchecker')),
      `${json.uid} links to the other netchecker dashboards`,
    );
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

t.test('a cluster variable on the configured label: every query and variable filters by it, every link keeps it', async (t) => {
  for (const clusterLabel of ['cluster', 'k8s_cluster']) {
    for (const { spec } of DASHBOARDS) {
      const json = dashboard(spec, { clusterLabel }) as unknown as Json & {
        annotations: { list: Array<{ expr: string; enable: boolean }> };
      };
      const vars = json.templating.list;
      const cluster = vars.find((v) => v.name === 'cluster') as
        { query: { query: string }; includeAll: boolean; allValue: string } | undefined;
      t.same(
        [vars[1]?.name, cluster?.query.query, cluster?.includeAll, cluster?.allValue],
        ['cluster', `label_values(netchecker_build_info, ${clusterLabel})`, true, '.*'],
        `${spec.uid} (${clusterLabel}): the cluster variable comes first, All matches clusters without the label`,
      );
      for (const v of vars.slice(2))
        t.match((v.query as { query: string }).query, `${clusterLabel}=~"$cluster"`, `${spec.uid}: variable ${v.name} filters by cluster`);
      for (const q of panelQueries(json as unknown as Record<string, unknown>)) {
        const selectors = [...q.expr.matchAll(/\{[^}]*\}/g)].map((m) => m[0]).filter((x) => x.includes('job='));
        t.ok(
          selectors.length > 0 && selectors.every((x) => x.includes(`${clusterLabel}=~"$cluster", job=~"$job"`)),
          `${spec.uid}: ${q.panel} filters every selector by ${clusterLabel}`,
        );
      }
      for (const p of json.panels)
        for (const l of p.fieldConfig.defaults.links)
          t.match(l.url, '&var-cluster=${cluster}&var-job=${job}', `${spec.uid}: ${p.title} link keeps cluster and job`);
      t.same(
        json.annotations.list.map((a) => [a.enable, a.expr]),
        [[true, `ALERTS{${clusterLabel}=~"$cluster", job=~"$job", alertname=~"Netchecker.+", alertstate="firing"}`]],
        `${spec.uid}: firing netchecker alerts as annotations`,
      );
    }
  }
});

/** Labels a table row may show: the agent's identity and the network pair, never a scrape target's. */
const TABLE_LABELS = new Set(['agent', 'node', 'network', 'state', 'peer_network', 'target']);
/** Units of a per-second rate, and of a ratio. */
const RATE_UNITS = ['reqps', 'ops', 'pps', 'Bps', 'rps'];

t.test('tables show agent columns only; titles and units say what the queries compute', async (t) => {
  for (const { spec } of DASHBOARDS) {
    for (const p of spec.panels) {
      const what = `${spec.uid}: ${p.title}`;
      const exprs = p.targets.map((x) => x.expr);
      if (p.kind === 'table') {
        for (const e of exprs) {
          const by = /^(?:max|min|sum|count) by \(([^)]*)\)/.exec(e)?.[1];
          const labels = by?.split(',').map((l) => l.trim()) ?? [];
          t.ok(
            by !== undefined && labels.every((l) => TABLE_LABELS.has(l)),
            `${what}: rows aggregated by ${by ?? '(nothing)'}, no scrape-target labels`,
          );
        }
      }
      const rate = exprs.some((e) => /\brate\(/.test(e) && !e.includes('histogram_quantile'));
      if (rate) t.ok(RATE_UNITS.includes(p.unit ?? ''), `${what}: a rate has a per-second unit (${p.unit})`);
      if (/per second/i.test(p.title)) t.ok(rate, `${what}: "per second" in the title, a rate in the query`);
      const window = /last (\d+[smh])/.exec(p.title)?.[1];
      if (exprs.some((e) => /\bincrease\(/.test(e)))
        t.ok(
          window && exprs.every((e) => !e.includes('increase(') || e.includes(`[${window}])`)),
          `${what}: an increase names its window in the title`,
        );
      if (p.unit === 's')
        t.ok(
          exprs.every((e) => /_seconds|time\(\)|histogram_quantile/.test(e)),
          `${what}: seconds come from seconds`,
        );
      if (p.unit === 'percentunit')
        t.ok(
          exprs.every((e) => e.includes(' / ') || /_ratio\b/.test(e)),
          `${what}: a share is a ratio`,
        );
      t.ok(
        exprs.every((e) => !/\bncagent_/.test(e)),
        `${what}: no legacy series (off in the stack overlays)`,
      );
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
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
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
  const queries = dashboards.flatMap(({ json }) =>
    panelQueries(json as unknown as Record<string, unknown>).map((q) => ({ ...q, uid: json.uid })),
  );
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
