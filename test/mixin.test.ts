// The monitoring mixin (mixin/mixin.libsonnet) as kube-prometheus users import it, rendered by
// Debian's jsonnet: prometheusAlerts, prometheusRules and grafanaDashboards equal what the
// TypeScript sources give deploy/ (the PrometheusRule and the dashboard ConfigMaps), with the
// default _config and with every setting changed, and promtool accepts the rules.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { ruleGroups } from '../alerts/generate.js';
import { type RuleGroup, alertNames, readRuleDir, renderRuleFile } from '../alerts/rules.js';
import { DEFAULT_SETTINGS, type Settings, parseSettings } from '../alerts/settings.js';
import { DASHBOARDS } from '../dashboards/all.js';
import { dashboard } from '../dashboards/grafana.js';
import { requireBinary } from './helpers/prometheus.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

interface Rendered {
  alerts: { groups: RuleGroup[] };
  rules: { groups: RuleGroup[] };
  dashboards: Record<string, unknown>;
}

/** The mixin with `override` added, as `(import 'mixin.libsonnet') + override`. */
function render(t: Test, override: string): Rendered | undefined {
  const code = `local m = (import 'mixin.libsonnet') + ${override}; { alerts: m.prometheusAlerts, rules: m.prometheusRules, dashboards: m.grafanaDashboards }`;
  const r = spawnSync('jsonnet', ['-J', `${ROOT}mixin`, '-e', code], { encoding: 'utf8' });
  if (r.error) {
    t.fail(`jsonnet is required (Debian package jsonnet): ${r.error.message}`);
    return undefined;
  }
  if (r.status !== 0) {
    t.fail(`jsonnet failed: ${r.stderr}`);
    return undefined;
  }
  return JSON.parse(r.stdout) as Rendered;
}

/** The groups holding rules of one kind, with only those rules: how the mixin splits alerts from recording rules. */
const only = (groups: readonly RuleGroup[], kind: 'alert' | 'record'): RuleGroup[] =>
  groups.map((g) => ({ name: g.name, rules: g.rules.filter((r) => r[kind] !== undefined) })).filter((g) => g.rules.length > 0);
const plain = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

function compare(t: Test, got: Rendered | undefined, s: Settings, what: string): void {
  if (!got) return;
  const groups = ruleGroups(ROOT, s);
  t.same(got.alerts.groups, plain(only(groups, 'alert')), `${what}: prometheusAlerts are the generated alert rules`);
  t.same(got.rules.groups, plain(only(groups, 'record')), `${what}: prometheusRules are the generated recording rules`);
  t.same(
    got.dashboards,
    plain(Object.fromEntries(DASHBOARDS.map(({ file, spec }) => [file, dashboard(spec, { clusterLabel: s.clusterLabel })]))),
    `${what}: grafanaDashboards are the generated dashboards`,
  );
}

t.test('the default _config gives exactly the PrometheusRule and dashboards of deploy/', async (t) => {
  const got = render(t, '{}');
  compare(t, got, DEFAULT_SETTINGS, 'defaults');
  t.ok((got?.alerts.groups.length ?? 0) > 0 && (got?.rules.groups.length ?? 0) > 0, 'alerts and recording rules');
});

t.test("every _config setting lands where the generator's settings do", async (t) => {
  const override = `{ _config+:: {
    jobSelector: 'job="nc"',
    clusterLabel: 'k8s_cluster',
    runbookBaseUrl: 'https://wiki.example.com/netchecker',
    keepFiringFor: '7m',
    thresholds+: { dnsSlowSeconds: 0.8, clockSkewSeconds: 2, packetLossRatio: 0.02, dnsReplicaFailingRatio: 0.7 },
    'for'+: { NetcheckerAgentOutdated: '2m' },
  } }`;
  const settings = parseSettings(
    {
      exporterJob: 'nc',
      clusterLabel: 'k8s_cluster',
      runbookBaseUrl: 'https://wiki.example.com/netchecker',
      keepFiringFor: '7m',
      thresholds: { dnsSlowSeconds: 0.8, clockSkewSeconds: 2, packetLossRatio: 0.02, dnsReplicaFailingRatio: 0.7 },
      for: { NetcheckerAgentOutdated: '2m' },
    },
    alertNames(readRuleDir(`${ROOT}alerts/rules`)),
  );
  if (!settings.ok) throw new Error(settings.error);
  const got = render(t, override);
  compare(t, got, settings.value, 'overridden');
  const text = JSON.stringify(got);
  t.notMatch(text, /NETCHECKER_MIXIN|netchecker_mixin|netchecker-mixin\.invalid|12345000\d\d/, 'no marker is left');
  t.match(text, 'job=\\"nc\\"');
  const replica = got?.alerts.groups.flatMap((g) => g.rules).find((r) => r.alert === 'NetcheckerDnsReplicaFailing');
  t.equal(replica?.expr.match(/[<>] 0\.7\b/g)?.length, 2, 'the replica threshold on both sides: most agents fail it, another passes');
  t.notMatch(replica?.expr, /0\.5/);
});

t.test("promtool accepts the mixin's rules", async (t) => {
  const promtool = requireBinary(t, 'prometheus', 'promtool');
  const got = render(t, '{}');
  if (!promtool || !got) return;
  const dir = mkdtempSync(join(tmpdir(), `netchecker-mixin-${process.pid}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'rules.yaml'), renderRuleFile([...got.rules.groups, ...got.alerts.groups]));
  const r = spawnSync(promtool, ['check', 'rules', join(dir, 'rules.yaml')], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stdout + r.stderr);
});
