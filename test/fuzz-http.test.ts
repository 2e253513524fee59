// Fuzzing the HTTP layer: >= 20,000 fast-check-generated requests per run (fixed seed + one
// random seed) over raw TCP to a real in-process exporter: methods, targets (agent names valid,
// invalid, percent-encoded, traversal, very long), query strings, header mixes, content types,
// framings (Content-Length right, short, long; chunked, broken chunks) and bodies (valid reports,
// near-valid, mutated fixtures, oversize). Every request gets a well-formed status line and never
// a 5xx or a stack trace (or, if malformed, a 4xx and a close); canonical valid reports get 200;
// afterwards the stored agents equal a model of the accepted reports and the exporter still works.
// Replay the same request sequence: FUZZ_SEED=<seed> npx tap test/fuzz-http.test.ts
import { connect, Socket } from 'node:net';
import fc from 'fast-check';
import t from 'tap';
import { recordJson } from '../report/encode.js';
import { decodeReport } from '../report/decode.js';
import { isValidAgentName, LIMITS, type Report } from '../report/schema.js';
import { originalReports, report, startTestExporter } from './helpers/exporter.js';
import { byteMutation, fuzzSeeds, nearValidReport, toText, treeMutation, validReport } from './helpers/fuzz.js';
import { type HttpResponse, readResponses } from './helpers/http-wire.js';

const REQUESTS_PER_SEED = 10_000;
const CONNECTIONS = 16;
const LIMIT_BYTES = 65_536;
const NAMES_PER_CONNECTION = 8;
const STACK_TRACE = /\bat .*\.(ts|js):\d+|node:internal/;
const REPORT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/merge-patch+json',
  'APPLICATION/JSON',
];
const OTHER_TYPES = ['multipart/form-data; boundary=x', 'text/html', 'application/xml', 'application/json;;;', 'x', '/', 'application/'];

/** The agent name part of a target: one of the connection's valid names (maybe percent-encoded) or junk. */
type NameSpec = { valid: number; encode: number; slash: boolean } | { junk: string };
type Framing = 'length' | 'chunked' | 'none' | 'short' | 'long' | 'bad-chunk' | 'both';
interface Spec {
  method: string;
  path: string | NameSpec;
  query: string;
  version: string;
  contentType: string | null;
  extra: Array<[string, string]>;
  body: Buffer;
  bodyKind: 'valid' | 'other';
  framing: Framing;
  chunk: number;
}

const fixtures = originalReports();
const junkNames = fc.oneof(
  fc.constantFrom(
    '',
    '.',
    '..',
    '%2e%2e',
    'A',
    'Agent-a',
    'a%2Fb',
    '%C3%A4',
    '-x',
    'x-',
    'x'.repeat(254),
    '%',
    '%zz',
    '%00',
    '__proto__',
    'constructor',
    'prototype',
    'a%20b',
    'a_b',
    'a..b',
  ),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', maxLength: 6 }).map(encodeURIComponent),
);
const otherPaths = fc.oneof(
  fc.constantFrom(
    '/api/v1/agents',
    '/api/v1/agents/',
    '/api/v1/peers/w0-a1',
    '/api/v1/connectivity_check',
    '/api/v1/ping',
    '/metrics',
    '/healthz',
    '/readyz',
    '/',
  ),
  fc.constantFrom(
    '*',
    '/api/v1/agents/../agents/w0-a1',
    '//api/v1/agents/w0-a1',
    '/api/v1/agents/w0-a1/x',
    'http://127.0.0.1/api/v1/ping',
    '/API/V1/PING',
    '/api/v1/%2e%2e/healthz',
    '/%',
    '/api/v1/agents/w0-a1%2F',
    'api/v1/ping',
  ),
  fc.string({ maxLength: 30 }).map((s) => `/${encodeURI(s)}`),
  fc.constantFrom(1000, 9000, 20_000).map((n) => `/${'a'.repeat(n)}`),
);
const body: fc.Arbitrary<{ body: Buffer; bodyKind: 'valid' | 'other' }> = fc.oneof(
  { weight: 5, arbitrary: validReport.map((b) => ({ body: Buffer.from(toText(b)), bodyKind: 'valid' as const })) },
  { weight: 1, arbitrary: nearValidReport.map((b) => ({ body: Buffer.from(toText(b.body)), bodyKind: 'other' as const })) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(...fixtures)
      .chain((f) => byteMutation(f.body))
      .map((b) => ({ body: b, bodyKind: 'other' as const })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(...fixtures)
      .chain((f) => treeMutation(f.body.toString()))
      .map((s) => ({ body: Buffer.from(s), bodyKind: 'other' as const })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        Buffer.alloc(0),
        Buffer.concat([Buffer.alloc(LIMIT_BYTES, 0x20), Buffer.from(report())]),
        Buffer.from('[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]'),
      )
      .map((b) => ({ body: b, bodyKind: 'other' as const })),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => ({ body: Buffer.from(b), bodyKind: 'other' as const })) },
);
const header: fc.Arbitrary<[string, string]> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom<[string, string]>(
      ['Accept', '*/*'],
      ['User-Agent', 'netchecker-agent'],
      ['Expect', '100-continue'],
      ['Connection', 'close'],
      ['Connection', 'keep-alive'],
      ['Accept-Encoding', 'gzip'],
      ['Authorization', 'Bearer x'],
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<[string, string]>(
      ['Transfer-Encoding', 'gzip'],
      ['Content-Length', '-1'],
      ['Content-Length', 'abc'],
      ['Bad Header', 'x'],
      ['X-Nul', 'a\u0000b'],
      ['X-Big', 'v'.repeat(20_000)],
      ['Host', 'second'],
      ['Upgrade', 'websocket'],
    ),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/),
      fc.string({ maxLength: 30 }).map((v) => v.replace(/[\r\n]/g, ' ')),
    ),
  },
);
const spec: fc.Arbitrary<Spec> = fc
  .record({
    method: fc.oneof(
      { weight: 12, arbitrary: fc.constant('POST') },
      { weight: 4, arbitrary: fc.constantFrom<string>('GET', 'HEAD') },
      { weight: 2, arbitrary: fc.constantFrom<string>('PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'get', 'G T', 'FOO', '') },
    ),
    path: fc.oneof(
      { weight: 6, arbitrary: fc.record({ valid: fc.nat(NAMES_PER_CONNECTION - 1), encode: fc.nat(), slash: fc.boolean() }) },
      { weight: 2, arbitrary: junkNames.map((junk) => ({ junk })) },
      { weight: 2, arbitrary: otherPaths },
    ),
    query: fc.oneof(
      { weight: 8, arbitrary: fc.constant('') },
      { weight: 1, arbitrary: fc.constantFrom('?', '?a=b', '?%zz', '#frag', `?${'q'.repeat(5000)}`) },
    ),
    version: fc.oneof(
      { weight: 12, arbitrary: fc.constant('HTTP/1.1') },
      { weight: 1, arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 x', 'HTTX/1.1', '') },
    ),
    contentType: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...REPORT_TYPES) },
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.constantFrom(...OTHER_TYPES) },
    ),
    extra: fc.oneof(
      { weight: 3, arbitrary: fc.constant<Array<[string, string]>>([]) },
      { weight: 1, arbitrary: fc.array(header, { maxLength: 4 }) },
    ),
    framing: fc.oneof(
      { weight: 10, arbitrary: fc.constant<Framing>('length') },
      { weight: 3, arbitrary: fc.constant<Framing>('chunked') },
      { weight: 1, arbitrary: fc.constantFrom<Framing>('none', 'short', 'long', 'bad-chunk', 'both') },
    ),
    chunk: fc.integer({ min: 1, max: 4096 }),
  })
  .chain((s: Omit<Spec, 'body' | 'bodyKind'>) => body.map((b): Spec => ({ ...s, ...b })));

function tryDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A name that percent-encodes the characters picked by the bits of `mask`, hex case varying. */
function encodeName(name: string, mask: number): string {
  return [...name]
    .map((c, i) =>
      (mask >> i) & 1 ? `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`[(mask >> (i + 8)) & 1 ? 'toUpperCase' : 'toLowerCase']() : c,
    )
    .join('');
}

interface Wire {
  bytes: Buffer;
  /** The connection may carry the next request after this one's answer. */
  reuse: boolean;
  /** The whole request was sent; otherwise the client half-closes and an answer is optional. */
  complete: boolean;
  /** Stored under this name if the exporter answers 200. */
  storeName: string | null;
  /** The body the exporter reads when the framing is honoured. */
  storedBody: Buffer;
  canonical: boolean;
}

function wire(s: Spec, conn: number): Wire {
  const p = s.path;
  let storeName: string | null = null;
  let target: string;
  if (typeof p === 'string') target = p;
  else if ('junk' in p) {
    target = `/api/v1/agents/${p.junk}`;
    // Junk may still be a valid name (`ac`, `constructor`); polka percent-decodes it when it can.
    const name = p.junk.includes('%') ? tryDecode(p.junk) : p.junk;
    storeName = isValidAgentName(name) ? name : null;
  } else {
    storeName = `w${conn}-a${p.valid}`;
    target = `/api/v1/agents/${encodeName(storeName, p.encode)}${p.slash ? '/' : ''}`;
  }
  target += s.query;
  const headers: Array<[string, string]> = [['Host', '127.0.0.1']];
  if (s.contentType !== null) headers.push(['Content-Type', s.contentType]);
  headers.push(...s.extra);
  let payload = s.body;
  let storedBody = s.body;
  let complete = true;
  if (s.framing === 'length') headers.push(['Content-Length', String(s.body.length)]);
  else if (s.framing === 'short') {
    storedBody = s.body.subarray(0, s.body.length >> 1);
    headers.push(['Content-Length', String(storedBody.length)]);
  } else if (s.framing === 'long') {
    headers.push(['Content-Length', String(s.body.length + 10)]);
    complete = false;
  } else if (s.framing === 'both') headers.push(['Content-Length', String(s.body.length)], ['Transfer-Encoding', 'chunked']);
  if (s.framing === 'chunked' || s.framing === 'bad-chunk' || s.framing === 'both') {
    if (s.framing !== 'both') headers.push(['Transfer-Encoding', 'chunked']);
    const parts: Buffer[] = [];
    for (let i = 0; i < s.body.length; i += s.chunk) {
      const c = s.body.subarray(i, i + s.chunk);
      parts.push(Buffer.from(`${c.length.toString(16)}${i % 3 ? ';ext=1' : ''}\r\n`), c, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from(s.framing === 'bad-chunk' ? 'zz\r\n\r\n' : '0\r\n\r\n'));
    payload = Buffer.concat(parts);
  }
  const head = `${s.method} ${target} ${s.version}\r\n${headers.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  const benignHeaders =
    s.extra.every(
      ([k, v]) =>
        /^[A-Za-z][A-Za-z0-9-]*$/.test(k) &&
        !/^(connection|transfer-encoding|content-length|host|upgrade|expect)$/i.test(k) &&
        v.length < 100 &&
        /^[\x20-\x7e]*$/.test(v),
    ) && s.extra.filter(([k]) => /^authorization$/i.test(k)).length <= 1; // two are a 400 and a close
  const regular =
    s.version === 'HTTP/1.1' &&
    (s.framing === 'length' || s.framing === 'chunked') &&
    benignHeaders &&
    !s.query.includes('#') &&
    !/[^\x21-\x7e]/.test(target);
  return {
    bytes: Buffer.concat([Buffer.from(head, 'latin1'), payload]),
    reuse: regular && ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'].includes(s.method),
    complete,
    storeName,
    storedBody,
    canonical:
      regular &&
      s.method === 'POST' &&
      storeName !== null &&
      s.query === '' &&
      s.bodyKind === 'valid' &&
      s.body.length <= LIMIT_BYTES &&
      REPORT_TYPES.includes(s.contentType ?? 'application/json'),
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** What a 200 to a POST stores, or why it must not have been 200. */
function accepted(w: Wire, contentType: string | null, query: string): Report | string {
  if (w.storeName === null) return 'no valid agent name';
  if (query !== '' && !query.startsWith('#')) return 'query string'; // a fragment is dropped
  if (contentType !== null && ![...REPORT_TYPES, 'application/json;;;'].includes(contentType)) return `content type ${contentType}`;
  try {
    const d = decodeReport(utf8.decode(w.storedBody));
    return d.ok ? d.value : `body rejected by the decoder: ${d.code}`;
  } catch {
    return 'invalid UTF-8';
  }
}

/** One connection's worker: sends its share of the requests one at a time and checks each answer. */
async function worker(
  port: number,
  conn: number,
  specs: Spec[],
  model: Map<string, Report>,
  fail: (msg: string) => void,
  sent: Map<number, number[]>,
): Promise<{ responses: number; statuses: Map<number, number> }> {
  let socket: Socket | null = null;
  let responses: AsyncIterator<HttpResponse | null> | null = null;
  let method = '';
  const statuses = new Map<number, number>();
  let count = 0;
  for (let i = conn; i < specs.length; i += CONNECTIONS) {
    const s = specs[i] as Spec;
    const w = wire(s, conn);
    const what = (): string => `request #${i} ${JSON.stringify(w.bytes.subarray(0, 200).toString('latin1'))}`;
    if (!socket || !responses || !w.reuse) {
      socket?.destroy();
      socket = connect(port, '127.0.0.1');
      responses = readResponses(socket, () => method);
    }
    method = s.method;
    const client = socket;
    const log = (): void => void sent.set(client.localPort ?? 0, [...(sent.get(client.localPort ?? 0) ?? []), i]);
    if (client.localPort) log();
    else client.once('connect', log);
    socket.write(w.bytes);
    if (!w.complete) socket.end();
    const first = await responses.next();
    const r = first.done ? null : first.value;
    if (r === null) {
      if (w.complete) fail(`no answer to ${what()}`);
      socket = null;
      continue;
    }
    count++;
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    if (!r.wellFormed) fail(`malformed answer ${JSON.stringify(r.head.slice(0, 100))} to ${what()}`);
    if (r.status >= 500) fail(`${r.status} for ${what()}: ${r.body.slice(0, 200)}`);
    if (STACK_TRACE.test(r.body)) fail(`stack trace in the answer to ${what()}`);
    if (w.canonical && r.status !== 200) fail(`a valid report got ${r.status} ${r.body.slice(0, 200)}: ${what()}`);
    if (s.method === 'POST' && r.status === 200) {
      const stored = accepted(w, s.contentType, s.query);
      if (typeof stored === 'string') fail(`200 although ${stored}: ${what()}`);
      else model.set(w.storeName as string, stored);
    }
    if (!w.reuse || r.close) {
      // Whatever else comes on this connection (leftover bytes parsed as a request) must be
      // well-formed too; our end of the connection closes so that the exporter closes too.
      if (w.complete) socket.end();
      for (let next = await responses.next(); !next.done && next.value; next = await responses.next()) {
        if (!next.value.wellFormed || next.value.status >= 500 || next.value.status < 400)
          fail(`after ${what()}: ${next.value.head.slice(0, 100)}`);
      }
      socket.destroy();
      socket = null;
    }
  }
  socket?.destroy();
  return { responses: count, statuses };
}

/** The exporter's own sockets still open 2 s after every client closed (polled every 100 ms). */
async function leftConnections(port: number): Promise<Socket[]> {
  const handles = (): Socket[] =>
    (process as unknown as { _getActiveHandles(): unknown[] })
      ._getActiveHandles()
      .filter((h): h is Socket => h instanceof Socket && h.localPort === port);
  for (let waited = 0; handles().length > 0 && waited < 2000; waited += 100) await new Promise((r) => setTimeout(r, 100));
  return handles();
}

for (const { label, seed } of fuzzSeeds()) {
  t.test(`${label} seed ${seed}: ${REQUESTS_PER_SEED} requests`, async (t) => {
    t.comment(`fast-check seed ${seed} (replay: FUZZ_SEED=${seed} npx tap test/fuzz-http.test.ts)`);
    const specs = fc.sample(spec, { seed, numRuns: REQUESTS_PER_SEED });
    // The whole wire range of report_interval (1..3600), not the exporter's default retention cap.
    const ex = await startTestExporter(t, [
      '--max-body-bytes',
      String(LIMIT_BYTES),
      '--max-report-interval',
      String(LIMITS.intervalSeconds.max),
    ]);
    const port = Number(new URL(ex.url).port);
    const model = new Map<string, Report>();
    const failures: string[] = [];
    const started = performance.now();
    const sent = new Map<number, number[]>();
    const results = await Promise.all(
      Array.from({ length: CONNECTIONS }, (_, c) => worker(port, c, specs, model, (m) => failures.push(m), sent)),
    );
    const answered = results.reduce((n, r) => n + r.responses, 0);
    const statuses = new Map<number, number>();
    for (const r of results) for (const [k, v] of r.statuses) statuses.set(k, (statuses.get(k) ?? 0) + v);
    t.comment(
      `${answered} answers in ${Math.round(performance.now() - started)} ms: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`,
    );
    t.same(failures.slice(0, 10), [], `no failed request (${failures.length} in all)`);
    t.ok(answered >= REQUESTS_PER_SEED * 0.95, `${answered} of ${REQUESTS_PER_SEED} requests answered`);
    t.ok((statuses.get(200) ?? 0) > REQUESTS_PER_SEED / 10, 'a good share was accepted');
    t.same(
      ex.logs.filter((l) => l.level === 'error'),
      [],
      'no request failed inside the exporter',
    );
    const left = await leftConnections(port);
    t.same(
      left.map((s) =>
        (sent.get(s.remotePort ?? -1) ?? []).map((i) =>
          specs[i] ? `#${i} ${wire(specs[i], 0).bytes.subarray(0, 160).toString('latin1')}` : '',
        ),
      ),
      [],
      'the exporter closed every connection its clients closed',
    );
    for (const s of left) s.destroy(); // so that the exporter can stop

    const stored = (await (await fetch(`${ex.url}/api/v1/agents/`)).json()) as Record<string, Record<string, unknown>>;
    const expected = Object.fromEntries([...model].map(([name, r]) => [name, recordJson(r, 0)]));
    for (const v of [...Object.values(stored), ...Object.values(expected)]) delete v.last_updated;
    t.same(Object.keys(stored).sort(), Object.keys(expected).sort(), `stored agents equal the model (${model.size})`);
    t.ok(
      Object.keys(expected).every((k) => JSON.stringify(stored[k]) === JSON.stringify(expected[k])),
      'each stored record is the last accepted report',
    );
    t.equal((await fetch(`${ex.url}/healthz`)).status, 200, 'still healthy');
    const after = await fetch(`${ex.url}/api/v1/agents/after-fuzz`, {
      method: 'POST',
      body: report(),
      headers: { 'Content-Type': 'application/json' },
    });
    t.equal(after.status, 200, 'still accepts a valid report');
  });
}

t.test('request count', async (t) => {
  t.ok(REQUESTS_PER_SEED * fuzzSeeds().length >= (process.env.FUZZ_SEED ? REQUESTS_PER_SEED : 20_000), 'at least 20,000 requests per run');
});
