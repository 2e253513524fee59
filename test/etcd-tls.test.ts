// TLS to etcd really verifies the server: with the CA that signed the etcd server certificate
// (and a client certificate etcd checks) reports are stored; with another CA the exporter refuses
// the server, stays up, says it is not ready and stores nothing. Flag mistakes stop it at start.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { eventually, runCli } from './helpers/cli.js';
import { etcdArgs, makeCerts, spawnExporter, startEtcd } from './helpers/etcd.js';
import { postReport, report, sample } from './helpers/exporter.js';

t.test('TLS verifies the etcd server', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), `netchecker-tls-${process.pid}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const certs = await makeCerts(dir);
  const otherDir = join(dir, 'other');
  mkdirSync(otherDir);
  const other = await makeCerts(otherDir, { caName: 'some-other-ca' });
  const etcd = await startEtcd(t, { tls: certs });
  const client = ['--etcd-cert', certs.clientCert, '--etcd-key', certs.clientKey];

  const good = await spawnExporter(t, [...etcdArgs(etcd, '/tls'), '--etcd-ca', certs.ca, ...client]);
  t.equal((await fetch(`${good.url}/readyz`)).status, 200, 'ready with the right CA');
  t.equal((await postReport(good.url, 'agent-tls', report())).status, 200);
  t.match(await etcd.etcdctl(['get', '/tls/agents/agent-tls', '--print-value-only']), /"report_interval":2/, 'stored in etcd over TLS');

  const wrong = await spawnExporter(t, [...etcdArgs(etcd, '/tls'), '--etcd-ca', other.ca, ...client]);
  t.equal((await fetch(`${wrong.url}/readyz`)).status, 503, 'a server certificate from another CA is refused: not ready');
  t.equal((await postReport(wrong.url, 'agent-unverified', report())).status, 200, 'the report is queued, not lost');
  t.equal(sample(await (await fetch(`${wrong.url}/metrics`)).text(), 'netchecker_store_queued_writes'), 1);
  const line = await eventually(
    async () => wrong.logs().find((l) => l.msg === 'etcd is unavailable: serving from the cache, queueing reports for write-back'),
    5000,
    'the unavailable log line',
  );
  t.match(String(line.error), /certificate/, 'the log names the certificate problem');
  t.equal((await etcd.etcdctl(['get', '/tls/agents/agent-unverified', '--print-value-only'])).trim(), '', 'nothing reached etcd');

  const noClientCert = await spawnExporter(t, [...etcdArgs(etcd, '/tls'), '--etcd-ca', certs.ca, '--etcd-timeout', '0.5']);
  t.equal((await fetch(`${noClientCert.url}/readyz`)).status, 503, 'etcd requires a client certificate: not ready without one');
});

t.test('etcd flag mistakes stop the exporter at start', async (t) => {
  const cases: Array<{ args: string[]; status: number; message: string }> = [
    { args: ['--store', 'etcd'], status: 2, message: '--etcd-endpoints is required with --store etcd' },
    {
      args: ['--store', 'etcd', '--etcd-endpoints', '127.0.0.1:2379'],
      status: 2,
      message: '--etcd-endpoints must be http:// or https:// URLs with a host and port, got "127.0.0.1:2379"',
    },
    {
      args: ['--store', 'etcd', '--etcd-endpoints', 'https://a:1,http://b:2'],
      status: 2,
      message: '--etcd-endpoints must all use the same scheme, http:// or https://',
    },
    {
      args: ['--store', 'etcd', '--etcd-endpoints', 'https://a:1', '--etcd-cert', '/x'],
      status: 2,
      message: '--etcd-cert and --etcd-key must be given together',
    },
    {
      args: ['--store', 'etcd', '--etcd-endpoints', 'http://a:1', '--etcd-ca', '/x'],
      status: 2,
      message: '--etcd-ca, --etcd-cert and --etcd-key need https:// endpoints',
    },
    {
      args: ['--store', 'etcd', '--etcd-endpoints', 'http://a:1', '--etcd-prefix', 'no-slash'],
      status: 2,
      message: '--etcd-prefix must start with "/", not end with "/" and have no spaces, got "no-slash"',
    },
    {
      args: ['--store', 'etcd', '--etcd-endpoints', 'http://a:1', '--etcd-timeout', '0'],
      status: 2,
      message: '--etcd-timeout must be a number from 0.1 to 60, got 0',
    },
    { args: ['--store', 'memory', '--etcd-endpoints', 'http://a:1'], status: 2, message: '--etcd-endpoints needs --store etcd' },
    {
      args: ['--store', 'etcd', '--etcd-endpoints', 'https://127.0.0.1:1', '--etcd-ca', '/nonexistent/ca.pem'],
      status: 2,
      message: '--etcd-ca /nonexistent/ca.pem: ENOENT',
    },
  ];
  for (const c of cases) {
    const r = await runCli(['exporter', '--listen', '127.0.0.1:0', ...c.args]);
    t.equal(r.status, c.status, `exit ${c.status}: ${c.args.join(' ')}`);
    t.match(r.stderr, c.message, c.message);
  }
});
