// The generator: the committed PrometheusRule, dashboard ConfigMaps and dashboard JSON are what
// `npm run alerts:generate` writes today; settings change thresholds, job, for: and runbook URLs;
// bad settings are refused with a clear message; the kustomize Component renders.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { parse, parseAllDocuments } from 'yaml';
import { MONITORING_DIR, bundle, ruleGroups } from '../alerts/generate.js';
import { alertNames, readRuleDir, renderRuleFile } from '../alerts/rules.js';
import { DEFAULT_SETTINGS, THRESHOLDS, parseSettings } from '../alerts/settings.js';
import { requireBinary } from './helpers/prometheus.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const NAMES = alertNames([...readRuleDir(`${ROOT}alerts/rules`), ...readRuleDir(`${ROOT}alerts/legacy`)]);

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), `netchecker-gen-${process.pid}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('the committed output is up to date (run npm run alerts:generate)', async (t) => {
  const files = bundle(ROOT, DEFAULT_SETTINGS);
  t.same([...files.keys()].sort(), [
    'dashboards/netchecker-network.json',
    'dashboards/netchecker-node.json',
    'dashboards/netchecker-overview.json',
    `${MONITORING_DIR}/dashboards.yaml`,
    `${MONITORING_DIR}/prometheusrule.yaml`,
    'mixin/generated/bundle.json',
  ]);
  for (const [path, text] of files) t.equal(readFileSync(`${ROOT}${path}`, 'utf8'), text, `${path} is current`);
});

t.test('the PrometheusRule carries exactly the rule files, and promtool accepts its groups', async (t) => {
  const doc = parse(readFileSync(`${ROOT}${MONITORING_DIR}/prometheusrule.yaml`, 'utf8')) as {
    apiVersion: string;
    kind: string;
    spec: { groups: unknown };
  };
  t.equal(doc.apiVersion, 'monitoring.coreos.com/v1');
  t.equal(doc.kind, 'PrometheusRule');
  t.same(doc.spec.groups, JSON.parse(JSON.stringify(readRuleDir(`${ROOT}alerts/rules`))));
  const promtool = requireBinary(t, 'prometheus', 'promtool');
  if (!promtool) return;
  const dir = tempDir(t);
  writeFileSync(join(dir, 'rules.yaml'), renderRuleFile(doc.spec.groups as never));
  const r = spawnSync(promtool, ['check', 'rules', join(dir, 'rules.yaml')], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stdout + r.stderr);
});

t.test('settings: thresholds, exporter job, cluster label, for: and keep_firing_for:, runbook base URL, legacy group', async (t) => {
  const parsed = parseSettings(
    {
      runbookBaseUrl: 'https://wiki.example.com/netchecker',
      exporterJob: 'nc',
      clusterLabel: 'k8s_cluster',
      keepFiringFor: '7m',
      thresholds: { dnsSlowSeconds: 0.8, networkDegradedAgentRatio: 0.3, clockSkewSeconds: 2 },
      for: { NetcheckerAgentOutdated: '2s', NetCheckerAgentErrors: '1h' },
      legacy: true,
    },
    NAMES,
  );
  if (!parsed.ok) throw new Error(parsed.error);
  const rules = ruleGroups(ROOT, parsed.value).flatMap((g) => g.rules);
  const byName = (n: string) => rules.find((r) => r.alert === n);
  t.match(byName('NetcheckerDnsSlow')?.expr, /\[10m\]\)\) > 0\.8\n/);
  t.equal(byName('NetcheckerPodNetworkDegraded')?.expr.match(/> 0\.3\b/g)?.length, 2, 'both sides of the pod network alert');
  t.match(byName('NetcheckerPodNetworkDegraded')?.expr, /> bool 0\.5/, 'fixed numbers are left alone');
  t.match(byName('NetcheckerClockSkew')?.expr, /\) > 2\n/);
  t.match(
    byName('NetcheckerExporterDown')?.expr,
    /max by \(namespace, job, k8s_cluster\) \(up\{job="nc"\}\) == 0[\s\S]*or on \(job\)\s+absent\(up\{job="nc"\}\)/,
  );
  for (const r of rules.filter((x) => x.record || x.alert?.startsWith('Netchecker'))) {
    t.notMatch(r.expr, /job="netchecker-service"|\bcluster\b/, `${r.alert ?? r.record}: job and cluster label replaced`);
  }
  t.match(byName('NetcheckerPacketLoss')?.expr, /max by \(namespace, job, k8s_cluster, node\)/);
  t.match(
    byName('NetcheckerPacketLoss')?.expr,
    /unless on \(namespace, job, k8s_cluster, agent\) max_over_time\(agent:netchecker_agent_away:max\{job="nc"\}\[5m\]\)/,
    'gone anywhere in the averaging window',
  );
  t.match(
    byName('NetcheckerPacketLoss')?.expr,
    /changes\(netchecker_agent_start_time_seconds\{job="nc"\}\[5m\]\)/,
    'restarted in the averaging window',
  );
  t.equal(byName('NetcheckerAgentOutdated')?.for, '2s');
  t.equal(byName('NetcheckerAgentOutdated')?.keep_firing_for, '7m');
  t.equal(byName('NetcheckerExporterDown')?.keep_firing_for, undefined, 'the inhibitor of the outage itself resolves at once');
  t.equal(byName('NetCheckerAgentErrors')?.for, '1h');
  t.equal(byName('NetcheckerAgentAbsent')?.for, '6m', 'others keep theirs');
  t.equal(
    byName('NetcheckerNodeUnreachable')?.annotations?.runbook_url,
    'https://wiki.example.com/netchecker/NetcheckerNodeUnreachable.md',
  );
  t.ok(byName('NetCheckerReportsMissing'), 'legacy group included');
  t.notOk(
    ruleGroups(ROOT, DEFAULT_SETTINGS).some((g) => g.name === 'netchecker.legacy'),
    'and left out by default',
  );
  for (const [name, th] of Object.entries(THRESHOLDS)) {
    for (const alert of th.alerts) t.ok(NAMES.has(alert), `threshold ${name} belongs to the existing alert ${alert}`);
  }
});

t.test('bad settings are refused with a message naming the setting', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    ['yes', /settings must be a mapping/],
    [{ thresholds: { dnsSlow: 1 } }, /unknown threshold "dnsSlow"/],
    [{ thresholds: { dnsSlowSeconds: -1 } }, /dnsSlowSeconds must be a positive number/],
    [{ thresholds: { dnsSlowSeconds: '1' } }, /dnsSlowSeconds must be a positive number/],
    [{ for: { NetcheckerNope: '5m' } }, /unknown alert "NetcheckerNope"/],
    [{ for: { NetcheckerAgentAbsent: 'five minutes' } }, /Prometheus duration/],
    [{ runbookBaseUrl: 'ftp://x' }, /runbookBaseUrl/],
    [{ runbookBaseUrl: 'https://x/' }, /trailing slash/],
    [{ exporterJob: 'a"b' }, /exporterJob/],
    [{ clusterLabel: 'a-b' }, /clusterLabel must be a label name/],
    [{ clusterLabel: 'node' }, /clusterLabel must be a label name other than/],
    [{ keepFiringFor: 'soon' }, /keepFiringFor must be a Prometheus duration/],
    [{ legacy: 'yes' }, /legacy must be true or false/],
    [{ threshold: {} }, /unknown setting "threshold"/],
  ];
  for (const [input, message] of cases) {
    const r = parseSettings(input, NAMES);
    t.equal(r.ok, false, JSON.stringify(input));
    if (!r.ok) t.match(r.error, message);
  }
});

t.test('the CLI writes the bundle under --root and refuses a bad settings file', async (t) => {
  const script = `${ROOT}dist/alerts/generate.js`;
  const dir = tempDir(t);
  cpSync(`${ROOT}alerts`, join(dir, 'alerts'), { recursive: true });
  writeFileSync(join(dir, 'settings.yaml'), 'exporterJob: my-netchecker\nthresholds:\n  packetLossRatio: 0.02\n');
  const ok = spawnSync(process.execPath, [script, '--root', dir, '--settings', join(dir, 'settings.yaml')], { encoding: 'utf8' });
  t.equal(ok.status, 0, ok.stderr);
  t.match(ok.stdout, `wrote ${MONITORING_DIR}/prometheusrule.yaml`);
  const rule = readFileSync(join(dir, MONITORING_DIR, 'prometheusrule.yaml'), 'utf8');
  t.match(rule, 'up{job="my-netchecker"}');
  t.match(rule, 'netchecker_agent_probed_loss_ratio{job="my-netchecker"}[5m]))');
  t.match(rule, /\) > 0\.02\n/);
  writeFileSync(join(dir, 'bad.yaml'), 'thresholds: {packetLossRatio: 0}\n');
  const bad = spawnSync(process.execPath, [script, '--root', dir, '--settings', join(dir, 'bad.yaml')], { encoding: 'utf8' });
  t.equal(bad.status, 2);
  t.match(bad.stderr, /bad\.yaml: threshold packetLossRatio must be a positive number/);
});

t.test('the kustomize Component renders the rule and the dashboard ConfigMaps into an overlay', async (t) => {
  const kubectl = requireBinary(t, 'kubectl', 'kubectl');
  if (!kubectl) return;
  const dir = tempDir(t);
  cpSync(`${ROOT}${MONITORING_DIR}`, join(dir, 'monitoring'), { recursive: true });
  mkdirSync(join(dir, 'overlay'));
  writeFileSync(
    join(dir, 'overlay/kustomization.yaml'),
    'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: netchecker\ncomponents: [../monitoring]\n',
  );
  const out = execFileSync(kubectl, ['kustomize', join(dir, 'overlay')], { encoding: 'utf8' });
  const objects = parseAllDocuments(out).map(
    (d) =>
      d.toJS() as {
        kind: string;
        metadata: { name: string; namespace: string; labels: Record<string, string> };
        data?: Record<string, string>;
      },
  );
  t.same(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
    'ConfigMap/grafana-dashboard-netchecker-network',
    'ConfigMap/grafana-dashboard-netchecker-node',
    'ConfigMap/grafana-dashboard-netchecker-overview',
    'PrometheusRule/netchecker',
  ]);
  for (const o of objects) t.equal(o.metadata.namespace, 'netchecker');
  for (const o of objects.filter((x) => x.kind === 'ConfigMap')) {
    t.equal(o.metadata.labels.grafana_dashboard, '1', `${o.metadata.name} is picked up by the Grafana sidecar`);
    const [file, json] = Object.entries(o.data ?? {})[0] ?? [];
    t.equal(json, readFileSync(`${ROOT}dashboards/${file}`, 'utf8'), `${file} is the committed dashboard`);
  }
});
