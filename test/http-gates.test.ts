// Refusals the HTTP layer makes before any route: more than 100 header fields is a 431 (Node
// kept the first 100 and dropped the rest silently, so a Content-Type past the 100th was never
// checked), several Authorization headers a 400 (Node kept the first), and paths are matched
// case-sensitively as the original server did. Pipelined requests are answered in order.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { decodeReport } from '../report/decode.js';
import { report, startTestExporter } from './helpers/exporter.js';
import { type HttpResponse, readResponses } from './helpers/http-wire.js';

/** Sends raw bytes on a fresh connection; resolves with the responses to `count` requests. */
async function raw(url: string, bytes: string, count = 1): Promise<HttpResponse[]> {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  await new Promise((resolve) => socket.once('connect', resolve));
  const methods = [...bytes.matchAll(/(?:^|\r\n\r\n|\})(GET|POST|HEAD) \//g)].map((m) => m[1] as string);
  const responses = readResponses(socket, () => methods.shift() ?? 'GET');
  socket.write(bytes);
  const out: HttpResponse[] = [];
  for (let i = 0; i < count; i++) {
    const r = (await responses.next()).value as HttpResponse | null;
    if (r) out.push(r);
  }
  socket.destroy();
  return out;
}

const headers = (n: number): string => Array.from({ length: n }, (_, i) => `X-Filler-${i}: ${i}\r\n`).join('');
const post = (extra: string, body = report()): string =>
  `POST /api/v1/agents/agent-a HTTP/1.1\r\nHost: x\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

t.test('more than 100 header fields: 431 and a closed connection; 100 are served', async (t) => {
  const ex = await startTestExporter(t);
  const [ok] = await raw(ex.url, `GET /api/v1/ping HTTP/1.1\r\nHost: x\r\n${headers(99)}\r\n`);
  t.equal(ok?.status, 200, '100 header fields (Host and 99 more)');
  const [over] = await raw(ex.url, `GET /api/v1/ping HTTP/1.1\r\nHost: x\r\n${headers(100)}\r\n`);
  t.equal(over?.status, 431, '101 header fields');
  t.match(over?.body, /"error":"too_many_headers"/);
  t.ok(over?.close, 'Connection: close');
  // The Content-Type check cannot be skipped by pushing the header past the 100th.
  const [bypass] = await raw(ex.url, post(`${headers(99)}Content-Type: multipart/form-data; boundary=x\r\n`));
  t.equal(bypass?.status, 431, 'a Content-Type as the 102nd field');
  t.equal((await fetch(`${ex.url}/api/v1/agents/agent-a`)).status, 404, 'nothing stored');
});

t.test('paths are case-sensitive, as in the original server', async (t) => {
  const ex = await startTestExporter(t);
  t.equal((await fetch(`${ex.url}/api/v1/ping`)).status, 200);
  for (const path of ['/API/V1/PING', '/Api/v1/ping', '/METRICS', '/Healthz', '/api/v1/Agents/', '/api/v1/CONNECTIVITY_CHECK']) {
    const res = await fetch(`${ex.url}${path}`);
    t.equal(res.status, 404, path);
    t.match(await res.text(), /"error":"not_found"/);
  }
  t.equal(
    (await raw(ex.url, post('Content-Type: application/json\r\n').replace('/api/v1/agents/', '/API/v1/agents/')))[0]?.status,
    404,
    'POST /API/v1/agents/agent-a',
  );
  t.equal((await fetch(`${ex.url}/api/v1/agents/agent-a`)).status, 404, 'nothing stored');
});

t.test('a repeated Authorization header is a 400, whatever the first one says', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), `netchecker-gates-${process.pid}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const secret = 'gates-secret-0123456789abcdef';
  writeFileSync(join(dir, 'token'), secret, { mode: 0o600 });
  const ex = await startTestExporter(t, ['--auth', 'token', '--auth-token-file', join(dir, 'token')]);
  const good = `Authorization: Bearer ${secret}\r\n`;
  t.equal((await raw(ex.url, post(good)))[0]?.status, 200, 'one good token');
  for (const [what, extra] of [
    ['good then bad', `${good}Authorization: Bearer wrong\r\n`],
    ['bad then good', `Authorization: Bearer wrong\r\n${good}`],
    ['good twice', `${good}${good}`],
    ['different case', `${good}authorization: Bearer ${secret}\r\n`],
  ] as const) {
    const [r] = await raw(ex.url, post(extra));
    t.equal(r?.status, 400, what);
    t.match(r?.body, /"error":"repeated_authorization"/, what);
  }
  const [m] = await raw(ex.url, `GET /metrics HTTP/1.1\r\nHost: x\r\n${good}${good}\r\n`);
  t.equal(m?.status, 400, 'on /metrics too');
});

t.test('pipelined requests are answered in order, each after the one before', async (t) => {
  const ex = await startTestExporter(t);
  const body = report({ podname: 'agent-a' });
  const rs = await raw(
    ex.url,
    `${post('Content-Type: application/json\r\n', body)}GET /api/v1/agents/agent-a HTTP/1.1\r\nHost: x\r\n\r\nGET /API/V1/PING HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v1/ping HTTP/1.1\r\nHost: x\r\n\r\n`,
    4,
  );
  t.same(
    rs.map((r) => r.status),
    [200, 200, 404, 200],
  );
  t.match(rs[1]?.body, /"podname":"agent-a"/, 'the GET sees the report stored by the POST before it');
});

t.test('garbage pipelined behind a streamed answer: the answer whole, then a 400', async (t) => {
  const ex = await startTestExporter(t);
  // Enough agents that /api/v1/agents/ is written in several slices (the fuzz run found this).
  for (let i = 0; i < 300; i++) {
    const d = decodeReport(report({ podname: `agent-${i}` }));
    if (d.ok) await ex.monitor.ingest(`agent-${i}`, d.value);
  }
  const rs = await raw(ex.url, 'GET /api/v1/agents/ HTTP/1.1\r\nHost: x\r\n\r\n\u0001GARBAGE\r\n\r\n', 2);
  t.same(
    rs.map((r) => [r.status, r.wellFormed]),
    [
      [200, true],
      [400, true],
    ],
  );
  t.equal(Object.keys(JSON.parse(rs[0]?.body ?? '{}') as object).length, 300, 'every agent in the answer');
});
