import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { probeHttp } from '../agent/probes/http.js';
import { phaseDurations } from '../agent/probes/phases.js';

async function serve(t: Test, handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

t.test('200: ok with phases', async (t) => {
  const url = await serve(t, (_req, res) => res.end('pong'));
  const o = await probeHttp(`${url}/ping`, { timeoutMs: 5000 });
  t.equal(o.result, 'ok');
  t.equal(o.httpCode, 200);
  t.equal(o.url, `${url}/ping`);
  t.notOk('error' in o);
  const p = o.phasesMs;
  t.type(p.connect, 'number');
  t.type(p.first_byte, 'number');
  t.type(p.transfer, 'number');
  t.notOk('dns' in p, 'an IP literal needs no lookup');
  t.notOk('tls' in p, 'plain http has no TLS phase');
  t.ok(p.total >= (p.connect ?? Infinity), 'total >= connect');
  t.ok(p.total >= (p.connect ?? 0) + (p.first_byte ?? 0) + (p.transfer ?? 0) - 0.001, 'total covers the phases');
});

t.test('localhost: the DNS phase is measured', async (t) => {
  const server = http.createServer((_req, res) => res.end());
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const o = await probeHttp(`http://localhost:${port}/`, { timeoutMs: 5000 });
  t.equal(o.result, 'ok');
  t.type(o.phasesMs.dns, 'number');
});

t.test('refused: closed port', async (t) => {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const o = await probeHttp(`http://127.0.0.1:${port}/`, { timeoutMs: 5000 });
  t.equal(o.result, 'refused');
  t.equal(o.httpCode, 0);
  t.notOk('connect' in o.phasesMs);
  t.type(o.error, 'string');
});

t.test('timeout: server never answers', async (t) => {
  const url = await serve(t, () => undefined);
  const o = await probeHttp(url, { timeoutMs: 200 });
  t.equal(o.result, 'timeout');
  t.equal(o.httpCode, 0);
  t.type(o.phasesMs.connect, 'number', 'the connection was made');
  t.ok(o.phasesMs.total >= 150, 'waited for the timeout');
});

t.test('timeout: body never ends', async (t) => {
  const url = await serve(t, (_req, res) => res.write('partial'));
  const o = await probeHttp(url, { timeoutMs: 200 });
  t.equal(o.result, 'timeout');
  t.equal(o.httpCode, 200);
  t.type(o.phasesMs.first_byte, 'number');
  t.notOk('transfer' in o.phasesMs);
});

t.test('http_error: 500', async (t) => {
  const url = await serve(t, (_req, res) => {
    res.statusCode = 500;
    res.end('boom');
  });
  const o = await probeHttp(url, { timeoutMs: 5000 });
  t.equal(o.result, 'http_error');
  t.equal(o.httpCode, 500);
});

t.test('reset: server drops the connection', async (t) => {
  const url = await serve(t, (req) => req.socket.destroy());
  const o = await probeHttp(url, { timeoutMs: 5000 });
  t.equal(o.result, 'reset');
});

t.test('external abort reads as timeout', async (t) => {
  const url = await serve(t, () => undefined);
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 50);
  const o = await probeHttp(url, { timeoutMs: 5000, signal: stop.signal });
  t.equal(o.result, 'timeout');
});

t.test('invalid URL: error, no throw', async (t) => {
  const o = await probeHttp('not a url', { timeoutMs: 100 });
  t.equal(o.result, 'error');
});

t.test('phase durations from timestamps', async (t) => {
  const table: Array<[Parameters<typeof phaseDurations>[0], ReturnType<typeof phaseDurations>]> = [
    [{ start: 0, done: 7 }, { total: 7 }],
    [
      { start: 10, connect: 12, done: 15 },
      { total: 5, connect: 2 },
    ],
    [
      { start: 0, lookup: 1, connect: 3, secureConnect: 6, response: 10, bodyEnd: 15, done: 15.5 },
      { total: 15.5, dns: 1, connect: 2, tls: 3, first_byte: 4, transfer: 5 },
    ],
    [
      { start: 0, lookup: 2, connect: 3, response: 7, done: 9 },
      { total: 9, dns: 2, connect: 1, first_byte: 4 },
    ],
  ];
  for (const [stamps, want] of table) t.same(phaseDurations(stamps), want);
});

t.test('https: an untrusted certificate is tls_error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=127.0.0.1',
        '-days',
        '1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
  } catch (e) {
    // A missing tool fails the test: test/run.sh installs openssl.
    return void t.fail(`openssl is required to make a test certificate: ${(e as Error).message}`);
  }
  const server = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) =>
    res.end('ok'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  const untrusted = await probeHttp(url, { timeoutMs: 5000 });
  t.equal(untrusted.result, 'tls_error');
  t.equal(untrusted.httpCode, 0);
  t.notOk('tls' in untrusted.phasesMs, 'the handshake never completed');
  t.type(untrusted.phasesMs.connect, 'number', 'TCP connected before TLS failed');
});
