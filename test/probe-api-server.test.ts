// The API server probe against a fake API server endpoint over TLS (a certificate made here with
// openssl): answered, refusing anonymous requests, slow, stopped, and with a certificate the
// agent's CA does not vouch for. Through both ways: the Service address and the DNS name.
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { parseAgentConfig } from '../agent/config.js';
import { run } from '../agent/main.js';
import { probeApiServer } from '../agent/probes/api-server.js';
import { ProbeRound } from '../agent/probes/round.js';
import { createLogger } from '../lib/log.js';
import { startFakeExporter } from './helpers/agent-server.js';
import { postReport, report, sample, startTestExporter } from './helpers/exporter.js';
import { selfSigned } from './helpers/fake-kube.js';

const TIMEOUT_MS = 1000;

/** A key and self-signed certificate for 127.0.0.1 and localhost, in a fresh folder. */
function certificate(t: Test, cn: string): { dir: string; key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'api-server-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, ...selfSigned(dir, cn, 'IP:127.0.0.1,DNS:localhost') };
}

interface FakeApiServer {
  port: number;
  /** Each request: its path and its Authorization header. */
  seen: string[];
  /** Status of /readyz; and a delay before answering. */
  status: number;
  delayMs: number;
  stop(): Promise<void>;
}

async function fakeApiServer(t: Test, tls: { key: string; cert: string }): Promise<FakeApiServer> {
  const server = https.createServer(tls, (req, res) => {
    fake.seen.push(`${req.url} ${req.headers.authorization ?? 'no credentials'}`);
    setTimeout(() => {
      res.writeHead(fake.status, { 'content-type': 'text/plain' });
      res.end(fake.status === 200 ? 'ok' : 'Unauthorized');
    }, fake.delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const fake: FakeApiServer = {
    port: (server.address() as AddressInfo).port,
    seen: [],
    status: 200,
    delayMs: 0,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  t.teardown(async () => {
    if (server.listening) await fake.stop();
  });
  return fake;
}

t.test('answered, refusing anonymous, slow, wrong certificate, stopped', async (t) => {
  const good = certificate(t, 'kube-apiserver');
  const other = certificate(t, 'impostor');
  const api = await fakeApiServer(t, good);
  const target = { via: 'service' as const, host: '127.0.0.1', port: api.port };
  const check = (ca: string | null = good.cert) => probeApiServer(target, '/readyz', { timeoutMs: TIMEOUT_MS, ca });

  const ok = await check();
  t.match(ok, { via: 'service', target: `127.0.0.1:${api.port}`, tcpResult: 'ok', result: 'ok', httpCode: 200 });
  t.ok(ok.tcpMs !== null && ok.latencyMs !== null && ok.latencyMs >= ok.tcpMs, 'connect and whole GET timed');

  api.status = 401;
  t.match(await check(), { tcpResult: 'ok', result: 'ok', httpCode: 401 }, 'anonymous requests refused: the server still answered');
  api.status = 500;
  t.match(await check(), { tcpResult: 'ok', result: 'http_error', httpCode: 500 }, 'not ready: an HTTP error');
  api.status = 200;

  api.delayMs = 3 * TIMEOUT_MS;
  t.match(
    await check(),
    { tcpResult: 'ok', result: 'timeout', httpCode: 0, latencyMs: null },
    'slow: connected, then no answer within the timeout',
  );
  api.delayMs = 0;

  t.match(await check(other.cert), { tcpResult: 'ok', result: 'tls_error', httpCode: 0 }, 'a certificate our CA does not vouch for');
  t.match(await check(null), { result: 'ok' }, 'without a CA: not verified');

  await api.stop();
  t.match(await check(), { tcpResult: 'refused', tcpMs: null, result: 'refused', latencyMs: null }, 'stopped: refused');
  t.ok(api.seen.length >= 5 && api.seen.every((s) => s === '/readyz no credentials'), 'the agent GETs /readyz and never sends credentials');
});

t.test('a round checks both ways, the Service address and the DNS name', async (t) => {
  const tls = certificate(t, 'kube-apiserver');
  const api = await fakeApiServer(t, tls);
  const fake = await startFakeExporter();
  t.teardown(() => fake.close());
  const env = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(api.port) };
  const argv = [
    '--server',
    fake.url,
    '--name',
    'agent-a',
    '--interval',
    '2',
    '--no-icmp',
    '--dns-server',
    '',
    '--api-server-name',
    'localhost',
    '--api-server-ca',
    join(tls.dir, 'cert.pem'),
  ];
  const parsed = parseAgentConfig(argv, env);
  if (!parsed.ok || parsed.help) throw new Error(parsed.ok ? 'help' : parsed.error);
  const probes = await ProbeRound.start(parsed.config, createLogger('error'));
  t.teardown(() => probes.stop());
  t.match((await probes.collect()).api_server, [
    { via: 'service', target: `127.0.0.1:${api.port}`, tcp_result: 'ok', result: 'ok', http_code: 200 },
    { via: 'dns', target: `localhost:${api.port}`, tcp_result: 'ok', result: 'ok', http_code: 200 },
  ]);
  t.equal(
    parseAgentConfig(argv, {}).ok && (parseAgentConfig(argv, {}) as { config: { probes: { apiServer: unknown } } }).config.probes.apiServer,
    null,
    'outside Kubernetes: off',
  );
});

t.test('an unreadable --api-server-ca stops the agent at start: exit 2, one line naming the flag', async (t) => {
  const fake = await startFakeExporter();
  t.teardown(() => fake.close());
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = (chunk: string) => (lines.push(String(chunk)), true);
  let code: number;
  try {
    code = await run(
      ['--server', fake.url, '--name', 'agent-a', '--no-icmp', '--log-level', 'error', '--api-server-ca', '/nonexistent/ca.pem'],
      { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '1' },
    );
  } finally {
    process.stderr.write = write;
  }
  t.equal(code, 2);
  t.same(lines, ['netchecker agent: --api-server-ca /nonexistent/ca.pem: ENOENT\n']);
});

t.test('the exporter: per agent and way, up and duration; the failing check named by its class', async (t) => {
  const ex = await startTestExporter(t);
  const checks = [
    { via: 'service', target: '10.96.0.1:443', tcp_result: 'ok', tcp_ms: 0.4, result: 'ok', http_code: 200, latency_ms: 3 },
    {
      via: 'dns',
      target: 'kubernetes.default.svc.cluster.local:443',
      tcp_result: 'dns_nxdomain',
      tcp_ms: null,
      result: 'dns_nxdomain',
      http_code: 0,
      latency_ms: null,
    },
  ];
  t.equal((await postReport(ex.url, 'agent-a', report({ podname: 'agent-a', network: 'pod', api_server: checks }))).status, 200);
  const text = await (await fetch(`${ex.url}/metrics`)).text();
  const at = (name: string, labels: string): number | undefined =>
    sample(text, `${name}{agent="agent-a",node="node-a",network="pod",${labels}}`);
  t.same(
    [
      at('netchecker_agent_api_server_up', 'via="service",check="tcp"'),
      at('netchecker_agent_api_server_up', 'via="service",check="https"'),
      at('netchecker_agent_api_server_up', 'via="dns",check="tcp"'),
      at('netchecker_agent_api_server_up', 'via="dns",check="https"'),
    ],
    [1, 1, 0, 0],
  );
  t.same(
    [
      at('netchecker_agent_api_server_duration_seconds', 'via="service",check="tcp"'),
      at('netchecker_agent_api_server_duration_seconds', 'via="service",check="https"'),
    ],
    [0.0004, 0.003],
  );
  t.equal(at('netchecker_agent_api_server_failure', 'via="dns",check="https",result="dns_nxdomain"'), 1);
  t.equal(text.split('\n').filter((l) => l.startsWith('netchecker_agent_api_server_failure{')).length, 2, 'only the failing checks');
});
