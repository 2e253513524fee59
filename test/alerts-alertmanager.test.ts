// alerts/alertmanager.example.yaml: amtool accepts it and routes each severity to its receiver;
// in a real Alertmanager its inhibit rules let one fault notify once (the inhibited alerts are
// suppressed and never reach the webhook receiver).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { readRuleDir } from '../alerts/rules.js';
import { eventually } from './helpers/cli.js';
import {
  type Notification,
  amAlerts,
  exampleAlertmanagerConfig,
  postAlerts,
  requireBinary,
  startAlertmanager,
  startWebhook,
} from './helpers/prometheus.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CONFIG = `${ROOT}alerts/alertmanager.example.yaml`;
const ALERTS = readRuleDir(`${ROOT}alerts/rules`).flatMap((g) => g.rules.filter((r) => r.alert));

t.test('amtool check-config accepts the example', async (t) => {
  const amtool = requireBinary(t, 'prometheus-alertmanager', 'amtool');
  if (!amtool) return;
  const r = spawnSync(amtool, ['check-config', CONFIG], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stdout + r.stderr);
  t.match(r.stdout, /SUCCESS[\s\S]*8 inhibit rules[\s\S]*3 receivers/);
});

t.test('amtool config routes test: every alert goes to the receiver of its severity', async (t) => {
  const amtool = requireBinary(t, 'prometheus-alertmanager', 'amtool');
  if (!amtool) return;
  for (const a of ALERTS) {
    const severity = a.labels?.severity as string;
    const r = spawnSync(
      amtool,
      [
        'config',
        'routes',
        'test',
        `--config.file=${CONFIG}`,
        `--verify.receivers=netchecker-${severity}`,
        `alertname=${a.alert}`,
        `severity=${severity}`,
        'node=n1',
      ],
      { encoding: 'utf8' },
    );
    t.equal(r.status, 0, `${a.alert} (${severity}) -> ${r.stdout.trim()} ${r.stderr.trim()}`);
  }
  const none = spawnSync(
    amtool,
    ['config', 'routes', 'test', `--config.file=${CONFIG}`, '--verify.receivers=netchecker-critical', 'severity=warning'],
    { encoding: 'utf8' },
  );
  t.not(none.status, 0, 'and a warning does not page');
});

const a = (alertname: string, labels: Record<string, string> = {}) => ({ labels: { alertname, severity: 'warning', ...labels } });

/** Sends alerts to a fresh Alertmanager and returns which were notified and which suppressed. */
async function inhibit(t: Test, alerts: ReturnType<typeof a>[]): Promise<{ notified: string[]; suppressed: string[] } | undefined> {
  const binary = requireBinary(t, 'prometheus-alertmanager', 'alertmanager', 'prometheus-alertmanager');
  if (!binary) return undefined;
  const webhook = await startWebhook(t);
  const am = await startAlertmanager(t, binary, exampleAlertmanagerConfig(ROOT, webhook.url));
  await postAlerts(am.url, alerts);
  const key = (l: Record<string, string>) =>
    `${l.alertname} ${l.node ?? ''}${l.alertname === 'NetcheckerPeerUnreachable' ? `->${l.peer_node}` : ''}`;
  // What Alertmanager shows as suppressed and what reached the receiver, as of now. The inhibitor
  // learns of a source alert on its own schedule: until then its targets show as active and may
  // be notified, so only both views together, accounting for every alert, are an answer.
  const now = async () => {
    const all = await amAlerts(am.url);
    const suppressed = all
      .filter((x) => x.status.state === 'suppressed')
      .map((x) => key(x.labels))
      .sort();
    const notified = webhook.received.flatMap((n: Notification) => n.alerts.map((x) => key(x.labels))).sort();
    return { processed: all.length === alerts.length && all.every((x) => x.status.state !== 'unprocessed'), notified, suppressed };
  };
  let last = '';
  const settled = await eventually(
    async () => {
      const r = await now();
      last = JSON.stringify(r);
      return r.processed && r.notified.length + r.suppressed.length >= alerts.length ? r : undefined;
    },
    10_000,
    `each of the ${alerts.length} alerts notified or suppressed`,
  ).catch((e: Error) => {
    throw new Error(`${e.message} (last seen: ${last})`);
  });
  // Two more group intervals: nothing else may arrive, and nothing changes its state.
  await new Promise((r) => setTimeout(r, 2500));
  const { notified, suppressed } = await now();
  t.equal(notified.length, settled.notified.length, 'no late notification of an inhibited alert');
  return { notified, suppressed };
}

t.test('exporter down silences every other netchecker alert', async (t) => {
  const r = await inhibit(t, [
    a('NetcheckerExporterDown', { severity: 'critical', job: 'netchecker-service' }),
    a('NetcheckerAgentOutdated', { node: 'n1', agent: 'x', network: 'pod' }),
    a('NetcheckerConnectivityCheckFailing'),
    a('SomeoneElsesAlert', { node: 'n1' }),
  ]);
  t.same(r, {
    notified: ['NetcheckerExporterDown ', 'SomeoneElsesAlert n1'],
    suppressed: ['NetcheckerAgentOutdated n1', 'NetcheckerConnectivityCheckFailing '],
  });
});

t.test('a node unreachable from most peers silences its own alerts and the pairs towards it and from it', async (t) => {
  const r = await inhibit(t, [
    a('NetcheckerNodeUnreachable', { severity: 'critical', node: 'n2', peer_node: 'n2', network: 'pod' }),
    a('NetcheckerAgentOutdated', { node: 'n2', network: 'pod' }),
    a('NetcheckerNodeReachesFewPeers', { node: 'n2', network: 'host' }),
    a('NetcheckerNodeDnsFailing', { node: 'n2', network: 'pod' }),
    a('NetcheckerPeerUnreachable', { severity: 'info', node: 'n3', peer_node: 'n2' }),
    // Cut off over one family (dual-stack), it still reports: its own pairs fail over that family.
    a('NetcheckerPeerUnreachable', { severity: 'info', node: 'n2', peer_node: 'n5', family: 'ipv6' }),
    a('NetcheckerAgentOutdated', { node: 'n4', network: 'pod' }),
    a('NetcheckerPeerUnreachable', { severity: 'info', node: 'n3', peer_node: 'n4' }),
  ]);
  t.same(r, {
    notified: ['NetcheckerAgentOutdated n4', 'NetcheckerNodeUnreachable n2', 'NetcheckerPeerUnreachable n3->n4'],
    suppressed: [
      'NetcheckerAgentOutdated n2',
      'NetcheckerNodeDnsFailing n2',
      'NetcheckerNodeReachesFewPeers n2',
      'NetcheckerPeerUnreachable n2->n5',
      'NetcheckerPeerUnreachable n3->n2',
    ],
  });
});

t.test('cluster DNS failing silences the per-node DNS alerts, not the others', async (t) => {
  const r = await inhibit(t, [
    a('NetcheckerClusterDnsFailing', { severity: 'critical' }),
    a('NetcheckerNodeDnsFailing', { node: 'n5' }),
    a('NetcheckerDnsSlow', { node: 'n6' }),
    a('NetcheckerPacketLoss', { node: 'n6' }),
  ]);
  t.same(r, {
    notified: ['NetcheckerClusterDnsFailing ', 'NetcheckerPacketLoss n6'],
    suppressed: ['NetcheckerDnsSlow n6', 'NetcheckerNodeDnsFailing n5'],
  });
});

t.test('dual-stack: cluster DNS failing over one family silences the per-node DNS alerts of that family only', async (t) => {
  const r = await inhibit(t, [
    a('NetcheckerClusterDnsFailing', { severity: 'critical', family: 'ipv6' }),
    a('NetcheckerNodeDnsFailing', { node: 'n5', family: 'ipv6' }),
    a('NetcheckerNodeDnsFailing', { node: 'n6', family: 'ipv4' }),
  ]);
  t.same(r, {
    notified: ['NetcheckerClusterDnsFailing ', 'NetcheckerNodeDnsFailing n6'],
    suppressed: ['NetcheckerNodeDnsFailing n5'],
  });
});

t.test('the API server unreachable from most agents silences the per-node API server alerts, not the others', async (t) => {
  const r = await inhibit(t, [
    a('NetcheckerApiServerUnreachable', { severity: 'critical' }),
    a('NetcheckerNodeApiServerUnreachable', { node: 'n5' }),
    a('NetcheckerNodeDnsFailing', { node: 'n6' }),
    a('NetcheckerBlockedPathOpen', { node: 'n5', target: '10.0.5.7:5432' }),
  ]);
  t.same(r, {
    notified: ['NetcheckerApiServerUnreachable ', 'NetcheckerBlockedPathOpen n5', 'NetcheckerNodeDnsFailing n6'],
    suppressed: ['NetcheckerNodeApiServerUnreachable n5'],
  });
});
