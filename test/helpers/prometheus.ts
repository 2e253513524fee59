// Real Prometheus and Alertmanager (Debian packages) for tests: each started on a free loopback
// port with its own temp dir, killed and cleaned up when the test ends. Plus a webhook receiver
// (what Alertmanager notifies) and small clients of their HTTP APIs.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { parse, stringify } from 'yaml';
import { eventually } from './cli.js';
import { freePort } from './ports.js';

/** The first of `names` on PATH, or undefined. */
export function findBinary(...names: string[]): string | undefined {
  for (const name of names) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim() !== '') return r.stdout.trim();
  }
  return undefined;
}

/** The binary, or a failed test naming the Debian package to install. */
export function requireBinary(t: Test, pkg: string, ...names: string[]): string | undefined {
  const found = findBinary(...names);
  if (!found) t.fail(`${names.join(' or ')} is missing: install the Debian package ${pkg}`);
  return found;
}

export interface Server {
  readonly url: string;
  readonly dir: string;
  readonly child: ChildProcess;
  /** Everything the process wrote so far. */
  output(): string;
}

async function startServer(
  t: Test,
  binary: string,
  name: string,
  args: (dir: string, listen: string) => string[],
  files: Record<string, string>,
): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), `netchecker-${name}-${process.pid}-`));
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  const port = await freePort();
  const listen = `127.0.0.1:${port}`;
  let out = '';
  const child = spawn(binary, args(dir, listen), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(force);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const url = `http://${listen}`;
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited: ${out}`);
      return (await fetch(`${url}/-/ready`)).ok ? true : undefined;
    },
    30_000,
    `${name} to be ready (output: ${out.slice(-2000)})`,
  );
  return { url, dir, child, output: () => out };
}

/** Prometheus with `config` (an object; rule files are written next to it and may be named there). */
export async function startPrometheus(
  t: Test,
  binary: string,
  config: Record<string, unknown>,
  ruleFiles: Record<string, string>,
): Promise<Server> {
  return startServer(
    t,
    binary,
    'prometheus',
    (dir, listen) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=${listen}`,
      '--log.level=warn',
    ],
    { 'prometheus.yml': stringify(config), ...ruleFiles },
  );
}

/**
 * Prometheus at second scale scraping one exporter (`target` HOST:PORT) as `job`, evaluating
 * `rules` (a rendered rule file) and alerting `alertmanagerUrl`: the end-to-end alert tests' setup.
 */
export function startAlertingPrometheus(
  t: Test,
  binary: string,
  o: { job: string; target: string; alertmanagerUrl: string; rules: string },
): Promise<Server> {
  return startPrometheus(
    t,
    binary,
    {
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: ['rules.yaml'],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [new URL(o.alertmanagerUrl).host] }] }] },
      scrape_configs: [{ job_name: o.job, static_configs: [{ targets: [o.target] }] }],
    },
    { 'rules.yaml': o.rules },
  );
}

/** Alertmanager with the given configuration, gossip off (it would listen on every interface). */
export async function startAlertmanager(t: Test, binary: string, config: Record<string, unknown>): Promise<Server> {
  return startServer(
    t,
    binary,
    'alertmanager',
    (dir, listen) => [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=${listen}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { 'alertmanager.yml': stringify(config) },
  );
}

export interface Notification {
  /** When this test's webhook received it (Date.now()). */
  readonly receivedAt: number;
  readonly receiver: string;
  readonly status: 'firing' | 'resolved';
  readonly alerts: ReadonlyArray<{ status: string; labels: Record<string, string>; annotations: Record<string, string> }>;
}

/** An HTTP server on loopback collecting Alertmanager webhook notifications. */
export async function startWebhook(t: Test): Promise<{ url: string; received: Notification[] }> {
  const received: Notification[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      try {
        received.push({ ...(JSON.parse(body) as Omit<Notification, 'receivedAt'>), receivedAt: Date.now() });
      } catch {
        // not a notification: ignored, the test asserts on what arrived
      }
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    // Alertmanager keeps connections alive; close them so the server stops at once.
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

async function query<R>(url: string, expr: string): Promise<{ resultType: string; result: R }> {
  const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
  const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: R } };
  if (body.status !== 'success' || !body.data) throw new Error(`query ${expr}: ${body.error ?? res.status}`);
  return body.data;
}

/** An instant query; throws on an error answer. */
export async function promQuery(url: string, expr: string): Promise<PromSample[]> {
  const data = await query<PromSample[] | [number, string]>(url, expr);
  // Scalars (e.g. time()) count as one sample.
  return data.resultType === 'scalar' ? [{ metric: {}, value: data.result as [number, string] }] : (data.result as PromSample[]);
}

export interface PromSeries {
  readonly metric: Record<string, string>;
  readonly values: ReadonlyArray<[number, string]>;
}

/** The raw samples of `selector` over the last `seconds` (a range-vector query), for a failure's timeline. */
export async function promSamples(url: string, selector: string, seconds: number): Promise<PromSeries[]> {
  return (await query<PromSeries[]>(url, `${selector}[${Math.ceil(seconds)}s]`)).result;
}

export interface PromAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly state: 'pending' | 'firing';
}

export async function promAlerts(url: string): Promise<PromAlert[]> {
  const body = (await (await fetch(`${url}/api/v1/alerts`)).json()) as { data: { alerts: PromAlert[] } };
  return body.data.alerts;
}

export interface AmAlert {
  readonly labels: Record<string, string>;
  readonly status: { state: string; inhibitedBy: string[]; silencedBy: string[] };
}

export async function amAlerts(url: string): Promise<AmAlert[]> {
  return (await (await fetch(`${url}/api/v2/alerts`)).json()) as AmAlert[];
}

/**
 * alerts/alertmanager.example.yaml as the tests run it: routes and inhibit rules unchanged, every
 * receiver's webhook pointed at `webhookUrl`/<receiver>, and second-scale grouping timers.
 */
export function exampleAlertmanagerConfig(root: string, webhookUrl: string): Record<string, unknown> {
  const config = parse(readFileSync(join(root, 'alerts/alertmanager.example.yaml'), 'utf8')) as {
    route: Record<string, unknown>;
    receivers: Array<{ name: string; webhook_configs?: Array<Record<string, unknown>> }>;
  };
  Object.assign(config.route, { group_wait: '1s', group_interval: '1s', repeat_interval: '1h' });
  for (const r of config.receivers) {
    for (const w of r.webhook_configs ?? []) w.url = `${webhookUrl}/${r.name}`;
  }
  return config;
}

/** Posts alerts to Alertmanager's API as Prometheus would (firing, no end time). */
export async function postAlerts(
  amUrl: string,
  alerts: ReadonlyArray<{ labels: Record<string, string>; annotations?: Record<string, string> }>,
): Promise<void> {
  const res = await fetch(`${amUrl}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(alerts.map((a) => ({ labels: a.labels, annotations: a.annotations ?? {}, startsAt: new Date().toISOString() }))),
  });
  if (!res.ok) throw new Error(`POST /api/v2/alerts: ${res.status} ${await res.text()}`);
}
