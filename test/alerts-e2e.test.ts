// End to end with a real Prometheus and Alertmanager: the built exporter and agents (loopback,
// 1 s interval) scraped by Prometheus loaded with the generated rules (short for: through the
// generator's settings), notifications going to a webhook receiver in this test through
// alerts/alertmanager.example.yaml. Faults: an expected agent that never reports, an agent
// killed, the exporter killed; each alert fires, reaches the receiver, and resolves when the
// fault is removed. The connectivity-check alert fires in Prometheus but is inhibited, so it never
// reaches the receiver. Meanwhile every dashboard query returns data, for every metric family the
// exporter exposes (the DNS replica panels too: the loopback DNS server is a --dns-replicas entry).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { ruleGroups } from '../alerts/generate.js';
import { alertNames, readRuleDir, renderRuleFile } from '../alerts/rules.js';
import { parseSettings } from '../alerts/settings.js';
import { DASHBOARDS } from '../dashboards/all.js';
import { dashboard, panelQueries, substituteVariables } from '../dashboards/grafana.js';
import { CLI, type Spawned, eventually, spawnCli } from './helpers/cli.js';
import {
  type Notification,
  type Server,
  amAlerts,
  exampleAlertmanagerConfig,
  promAlerts,
  promQuery,
  requireBinary,
  startAlertmanager,
  startAlertingPrometheus,
  startWebhook,
} from './helpers/prometheus.js';
import { startDnsmasq } from './lab/dnsmasq.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const JOB = 'netchecker-e2e';
const AGENTS = { a: 'netchecker-agent-a', b: 'netchecker-agent-hostnet-b', never: 'netchecker-agent-c' } as const;
const VARS = { cluster: '.*', job: JOB, network: '.*', node: 'node-a', __rate_interval: '1m' };

/** Families on the exporter's /metrics (TYPE lines), histograms also under their sample names. */
function exposedFamilies(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    out.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(name + s);
  }
  return out;
}

/** The exporter series a query reads (recording rules and `up` come from Prometheus). */
function metricsOf(expr: string): string[] {
  return [...new Set([...expr.matchAll(/(?<![\w:])((?:netchecker|ncagent)_[a-z0-9_]+)/g)].map((m) => m[1] as string))];
}

interface Lab {
  readonly url: string;
  readonly prom: Server;
  readonly am: Server;
  readonly webhook: { url: string; received: Notification[] };
  agent(name: string, node: string, network: string): Spawned;
  killExporter(): void;
  restartExporter(): Promise<void>;
}

/** Alertmanager + webhook, the exporter and agents A and B (C is expected, not started), Prometheus. */
async function startLab(t: Test): Promise<Lab | undefined> {
  const prometheus = requireBinary(t, 'prometheus', 'prometheus');
  const alertmanager = requireBinary(t, 'prometheus-alertmanager', 'alertmanager', 'prometheus-alertmanager');
  if (!prometheus || !alertmanager) return undefined;
  const webhook = await startWebhook(t);
  const am = await startAlertmanager(t, alertmanager, exampleAlertmanagerConfig(ROOT, webhook.url));

  // The agents probe each other and DNS where this build has those probes, as `netchecker local`
  // does; the DNS server is also the one cluster DNS replica the exporter hands out.
  const help = spawnSync(process.execPath, [CLI, 'agent', '--help'], { encoding: 'utf8' }).stdout;
  const dns = help.includes('--dns-server')
    ? (await startDnsmasq(t, { address: '127.0.0.1', port: 0, records: [['kubernetes.default.svc.cluster.local', '127.0.0.1']] })).server
    : undefined;
  const exporterArgs = (listen: string) => [
    'exporter',
    '--listen',
    listen,
    '--expect',
    Object.values(AGENTS).join(','),
    '--startup-grace',
    '1',
    ...(dns ? [`--dns-replicas=${dns}=coredns-a@node-a`] : []),
  ];
  let exporter = spawnCli(t, exporterArgs('127.0.0.1:0'));
  const [, url] = (await exporter.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/)) as [string, string];
  const probeFlags = [...(help.includes('--listen') ? ['--listen=127.0.0.1:0'] : []), ...(dns ? [`--dns-server=${dns}`] : [])];
  t.comment(`agent probe flags: ${probeFlags.join(' ') || 'none (this agent has no mesh or DNS probes)'}`);
  const agent = (name: string, node: string, network: string) =>
    spawnCli(t, [
      'agent',
      '--server',
      url,
      '--name',
      name,
      '--node',
      node,
      '--network',
      network,
      '--interval',
      '1',
      '--log-level',
      'warn',
      ...probeFlags,
    ]);

  // The rules as the generator writes them, with this scrape job and second-scale for: on the
  // alerts under test (the compat alert longest, as in the shipped rules).
  const names = alertNames(readRuleDir(`${ROOT}alerts/rules`));
  const settings = parseSettings(
    {
      exporterJob: JOB,
      keepFiringFor: '1s',
      for: {
        NetcheckerAgentAbsent: '2s',
        NetcheckerAgentOutdated: '2s',
        NetcheckerExporterDown: '2s',
        NetcheckerConnectivityCheckFailing: '4s',
      },
    },
    names,
  );
  if (!settings.ok) throw new Error(settings.error);
  const prom = await startAlertingPrometheus(t, prometheus, {
    job: JOB,
    target: new URL(url).host,
    alertmanagerUrl: am.url,
    rules: renderRuleFile(ruleGroups(ROOT, settings.value)),
  });
  return {
    url,
    prom,
    am,
    webhook,
    agent,
    killExporter: () => void exporter.child.kill('SIGKILL'),
    async restartExporter() {
      exporter = spawnCli(t, exporterArgs(new URL(url).host));
      await exporter.waitFor(/"url":"http/);
    },
  };
}

type Labels = Record<string, string>;
const matches = (labels: Labels, name: string, match: Labels) =>
  labels.alertname === name && Object.entries(match).every(([k, v]) => labels[k] === v);
const firing =
  (lab: Lab, name: string, match: Labels = {}) =>
  async () =>
    (await promAlerts(lab.prom.url)).find((x) => x.state === 'firing' && matches(x.labels, name, match));
const gone =
  (lab: Lab, name: string, match: Labels = {}) =>
  async () =>
    (await firing(lab, name, match)()) ? undefined : true;
const notified =
  (lab: Lab, status: 'firing' | 'resolved', name: string, match: Labels = {}) =>
  async () =>
    lab.webhook.received.find((n) => n.alerts.some((x) => x.status === status && matches(x.labels, name, match)));

t.test('alerts fire, notify and resolve in a real Prometheus and Alertmanager; dashboards have data', async (t) => {
  const lab = await startLab(t);
  if (!lab) return;
  const agentA = lab.agent(AGENTS.a, 'node-a', 'pod');
  lab.agent(AGENTS.b, 'node-b', 'host');

  // Dashboard queries, evaluated at every phase; a query counts once it has returned data.
  const queries = DASHBOARDS.flatMap(({ spec }) =>
    panelQueries(dashboard(spec)).map((q, i) => ({ key: `${spec.uid}: ${q.panel} [${i}]`, expr: substituteVariables(q.expr, VARS) })),
  );
  const withData = new Set<string>();
  const sampleDashboards = async () => {
    for (const q of queries) if (!withData.has(q.key) && (await promQuery(lab.prom.url, q.expr)).length > 0) withData.add(q.key);
  };
  /** Metric families the exporter exposed during the run. */
  const families = new Set<string>();
  const readFamilies = async () => {
    for (const f of exposedFamilies(await (await fetch(`${lab.url}/metrics`)).text())) families.add(f);
  };

  await t.test('an expected agent that never reports: NetcheckerAgentAbsent', async (t) => {
    const alert = await eventually(
      firing(lab, 'NetcheckerAgentAbsent', { agent: AGENTS.never }),
      30_000,
      'NetcheckerAgentAbsent firing in Prometheus',
    );
    t.match(alert.labels, { severity: 'warning', state: 'absent', job: JOB });
    t.match(alert.annotations.description, `Agent ${AGENTS.never} (pod network)`);
    const n = await eventually(notified(lab, 'firing', 'NetcheckerAgentAbsent', { agent: AGENTS.never }), 20_000, 'the notification');
    t.equal(n.receiver, 'netchecker-warning', 'routed by severity');
    t.match(n.alerts[0]?.annotations.runbook_url, /\/docs\/runbooks\/NetcheckerAgentAbsent\.md$/);
    await eventually(firing(lab, 'NetcheckerConnectivityCheckFailing'), 20_000, 'the compat alert firing in Prometheus');
    const compat = await eventually(
      async () =>
        (await amAlerts(lab.am.url)).find(
          (x) => x.labels.alertname === 'NetcheckerConnectivityCheckFailing' && x.status.state !== 'unprocessed',
        ),
      10_000,
      'the compat alert processed in Alertmanager',
    );
    t.equal(compat.status.state, 'suppressed', 'inhibited in Alertmanager by the agent alert');
    t.ok(compat.status.inhibitedBy.length > 0);
    await sampleDashboards();
  });

  await t.test('an agent killed: NetcheckerAgentOutdated fires, and resolves when it is back', async (t) => {
    agentA.child.kill('SIGKILL');
    const alert = await eventually(firing(lab, 'NetcheckerAgentOutdated', { agent: AGENTS.a }), 30_000, 'NetcheckerAgentOutdated firing');
    t.match(alert.labels, { severity: 'warning', state: 'outdated', node: 'node-a', network: 'pod' });
    t.match(alert.annotations.summary, `netchecker agent ${AGENTS.a} on node node-a stopped reporting`);
    t.match(alert.annotations.description, /last reported \d+(\.\d+)?s ago/);
    await eventually(notified(lab, 'firing', 'NetcheckerAgentOutdated', { agent: AGENTS.a }), 20_000, 'the firing notification');
    await sampleDashboards();
    lab.agent(AGENTS.a, 'node-a', 'pod');
    await eventually(gone(lab, 'NetcheckerAgentOutdated', { agent: AGENTS.a }), 30_000, 'NetcheckerAgentOutdated to resolve in Prometheus');
    await eventually(notified(lab, 'resolved', 'NetcheckerAgentOutdated', { agent: AGENTS.a }), 20_000, 'the resolved notification');
    t.pass('resolved and notified');
  });

  await t.test('the missing agent starts: NetcheckerAgentAbsent resolves', async (t) => {
    t.ok(await firing(lab, 'NetcheckerAgentAbsent', { agent: AGENTS.never })(), 'still firing before the agent starts');
    t.notOk(await notified(lab, 'resolved', 'NetcheckerAgentAbsent')(), 'and never resolved so far');
    lab.agent(AGENTS.never, 'node-c', 'pod');
    await eventually(gone(lab, 'NetcheckerAgentAbsent'), 30_000, 'NetcheckerAgentAbsent to resolve');
    await eventually(notified(lab, 'resolved', 'NetcheckerAgentAbsent', { agent: AGENTS.never }), 20_000, 'the resolved notification');
    await eventually(gone(lab, 'NetcheckerConnectivityCheckFailing'), 20_000, 'the compat alert to resolve');
    t.pass('resolved and notified');
    await sampleDashboards();
  });

  await t.test('the exporter killed: NetcheckerExporterDown pages, and resolves when it is back', async (t) => {
    await readFamilies();
    lab.killExporter();
    const alert = await eventually(firing(lab, 'NetcheckerExporterDown'), 30_000, 'NetcheckerExporterDown firing');
    t.match(alert.labels, { severity: 'critical', job: JOB });
    const n = await eventually(notified(lab, 'firing', 'NetcheckerExporterDown'), 20_000, 'the page');
    t.equal(n.receiver, 'netchecker-critical');
    await lab.restartExporter();
    await eventually(gone(lab, 'NetcheckerExporterDown'), 30_000, 'NetcheckerExporterDown to resolve');
    await eventually(notified(lab, 'resolved', 'NetcheckerExporterDown'), 20_000, 'the resolved notification');
    t.pass('resolved and notified');
    await eventually(
      async () => ((await promQuery(lab.prom.url, `sum(netchecker_agent_up{job="${JOB}"})`))[0]?.value[1] === '3' ? true : undefined),
      20_000,
      'all three agents back with the new exporter',
    );
    await sampleDashboards();
    await readFamilies();
  });

  await t.test('the inhibited compat alert never reached the receiver', async (t) => {
    const all = lab.webhook.received.flatMap((n: Notification) => n.alerts.map((x) => x.labels.alertname));
    t.notOk(all.includes('NetcheckerConnectivityCheckFailing'), `notified: ${[...new Set(all)].join(', ')}`);
    t.same(
      [...new Set(all)].sort(),
      ['NetcheckerAgentAbsent', 'NetcheckerAgentOutdated', 'NetcheckerExporterDown'],
      'exactly the faults made, nothing else',
    );
  });

  await t.test('every dashboard query over a metric the exporter exposes returned data', async (t) => {
    await sampleDashboards();
    const missing: string[] = [];
    for (const q of queries) {
      const absent = metricsOf(q.expr).filter((m) => !families.has(m));
      if (absent.length > 0 && !withData.has(q.key)) missing.push(`${q.key} (not exposed: ${absent.join(', ')})`);
      else t.ok(withData.has(q.key), `${q.key} returned data`);
    }
    t.comment(`queries without data because the exporter does not expose their metrics here: ${missing.length}\n${missing.join('\n')}`);
    for (const v of ['netchecker_build_info', 'netchecker_agents_expected', 'netchecker_agent_state']) {
      t.ok((await promQuery(lab.prom.url, `${v}{job="${JOB}"}`)).length > 0, `variable source ${v} has data`);
    }
  });
});
