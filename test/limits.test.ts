// Limits one sender cannot exceed (docs/security.md#limits): agents held, report interval,
// request-body bytes held at once, array entries before the parse, probe URLs and with them the
// series an agent adds. Each refusal is a clear status and code, counted, and stores nothing.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import t from 'tap';
import { ERRORS, REJECT_REASONS } from '../exporter/errors.js';
import { decodeReport } from '../report/decode.js';
import { VALUES_MAX } from '../report/json-shape.js';
import { LIMITS } from '../report/schema.js';
import { postReport, report, sample, startTestExporter } from './helpers/exporter.js';

const rejected = async (url: string, reason: string): Promise<number | undefined> =>
  sample(await (await fetch(`${url}/metrics`)).text(), `netchecker_reports_rejected_total{reason="${reason}"}`);
const stored = async (url: string): Promise<string[]> =>
  Object.keys((await (await fetch(`${url}/api/v1/agents/`)).json()) as object).sort();

t.test('--max-agents: a new agent beyond it gets 429; agents held and expected agents are taken', async (t) => {
  const ex = await startTestExporter(t, ['--max-agents', '2', '--expect', 'agent-a,agent-b,agent-x']);
  t.equal(await rejected(ex.url, 'too_many_agents'), 0, 'the reason is there from the start');
  t.equal((await postReport(ex.url, 'made-up-1', report())).status, 200);
  t.equal((await postReport(ex.url, 'made-up-2', report())).status, 200);
  const refused = await postReport(ex.url, 'made-up-3', report());
  t.equal(refused.status, 429);
  t.ok(Number(refused.headers.get('retry-after')) > 0, 'with Retry-After');
  t.match(await refused.json(), { error: 'too_many_agents', message: /--max-agents/ });
  t.equal((await postReport(ex.url, 'made-up-1', report())).status, 200, 'an agent already held reports on');
  t.equal((await postReport(ex.url, 'agent-x', report())).status, 200, 'an expected agent is always taken');
  t.same(await stored(ex.url), ['agent-x', 'made-up-1', 'made-up-2']);
  t.equal(await rejected(ex.url, 'too_many_agents'), 1, 'counted in netchecker_reports_rejected_total');
  await t.rejects(startTestExporter(t, ['--max-agents', '0']), /--max-agents must be an integer from 1 to/);
});

t.test("--max-report-interval: a report asking for more is refused, so retention stays the operator's", async (t) => {
  const ex = await startTestExporter(t);
  const long = await postReport(ex.url, 'agent-a', report({ report_interval: 301 }));
  t.equal(long.status, 400, 'the default is 300 s');
  t.match(await long.json(), { error: 'interval_too_long', message: /--max-report-interval.*301 > 300/ });
  t.equal((await postReport(ex.url, 'agent-a', report({ report_interval: 300 }))).status, 200);
  t.equal(await rejected(ex.url, 'interval_too_long'), 1);
  const strict = await startTestExporter(t, ['--max-report-interval', '60']);
  t.equal((await postReport(strict.url, 'agent-a', report({ report_interval: 61 }))).status, 400);
  t.equal((await postReport(strict.url, 'agent-a', report({ report_interval: 60 }))).status, 200, "the original agent's default");
  await t.rejects(startTestExporter(t, ['--max-report-interval', '3601']), /--max-report-interval must be an integer from 1 to 3600/);
});

/**
 * Sends the head of a report and the first byte of its body, and holds the connection open. The
 * exporter answers `Expect: 100-continue` in the same turn as it starts reading the body (and
 * takes the declared length from the budget), so once the 100 is here the bytes are held.
 */
function holdBody(url: string, declared: number): Promise<{ finish: (rest: string) => Promise<string> }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), hostname, () => {
      s.write(
        `POST /api/v1/agents/agent-slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\nConnection: close\r\nExpect: 100-continue\r\n\r\n`,
      );
    });
    let answer = '';
    s.setEncoding('utf8').on('data', (c: string) => {
      answer += c;
      if (!answer.startsWith('HTTP/1.1 100 Continue\r\n\r\n') || answer.length > 25) return;
      s.write('{');
      resolve({
        finish: (rest) =>
          new Promise((done) => {
            s.once('close', () => done(answer));
            s.end(rest);
          }),
      });
    });
    s.once('error', reject);
  });
}

t.test('--max-inflight-body-bytes: bodies being read share one budget; beyond it 503 with Retry-After', async (t) => {
  const ex = await startTestExporter(t, ['--max-body-bytes', '4096', '--max-inflight-body-bytes', '6000']);
  const body = report({ report_interval: 5 });
  const padded = `${body.slice(0, -1)},"pad":"${'x'.repeat(2990 - body.length)}"}`;
  t.equal(padded.length, 2999);
  const held = await holdBody(ex.url, padded.length); // 3,000 bytes taken from the budget at once
  t.equal((await postReport(ex.url, 'agent-a', padded)).status, 200, 'a second body fits beside it (6,000)');
  const third = await holdBody(ex.url, padded.length);
  const over = await postReport(ex.url, 'agent-b', padded);
  t.equal(over.status, 503, 'a body beyond the budget while two are held');
  t.equal(over.headers.get('retry-after'), '1');
  t.match(await over.json(), { error: 'inflight_bodies_full', message: /--max-inflight-body-bytes/ });
  t.match(await held.finish(padded.slice(1)), /\r\n\r\nHTTP\/1.1 200 /, 'the held bodies are read to the end and stored');
  t.match(await third.finish(padded.slice(1)), /\r\n\r\nHTTP\/1.1 200 /);
  t.equal((await postReport(ex.url, 'agent-b', padded)).status, 200, 'the budget is handed back');
  t.equal(await rejected(ex.url, 'inflight_bodies_full'), 1);
  await t.rejects(
    startTestExporter(t, ['--max-body-bytes', '4096', '--max-inflight-body-bytes', '4095']),
    /--max-inflight-body-bytes must be at least --max-body-bytes/,
  );
});

t.test('the pre-scan bounds array entries: arrays of millions of numbers are refused before the parse', async (t) => {
  const numbers = `{"report_interval":5,"junk":[${'1,'.repeat(1_000_000)}1]}`;
  const started = performance.now();
  const d = decodeReport(numbers);
  const ms = performance.now() - started;
  t.match(d, { ok: false, code: 'too_many_values' });
  const parseStarted = performance.now();
  JSON.parse(numbers);
  const parseMs = performance.now() - parseStarted;
  t.comment(`refused in ${ms.toFixed(1)} ms; JSON.parse alone takes ${parseMs.toFixed(1)} ms`);
  t.match(
    decodeReport(`{"report_interval":5,"a":[${'"",'.repeat(VALUES_MAX)}""]}`),
    { ok: false, code: 'too_many_values' },
    'strings count too',
  );
  t.match(
    decodeReport(`{"report_interval":5,"zero_extender":[${'0,'.repeat(65_534)}0]}`),
    { ok: true },
    "the original agent's padding of 65,535 zeros is cut before the scan",
  );
  const ex = await startTestExporter(t);
  const res = await postReport(ex.url, 'agent-a', numbers);
  t.equal(res.status, 400);
  t.match(await res.json(), { error: 'too_many_values' });
  t.equal(await rejected(ex.url, 'too_many_values'), 1);
  t.same(await stored(ex.url), []);
});

t.test('probe URLs per report and their length are capped, and so the series an agent adds', async (t) => {
  const probe = (url: string): Record<string, unknown> => ({
    URL: url,
    ConnectionResult: 1,
    HTTPCode: 200,
    Total: 1,
    ContentTransfer: 1,
    TCPConnection: 1,
    DNSLookup: 1,
    Connect: 1,
    ServerProcessing: 1,
  });
  const url = (i: number): string => `http://h${i}/`.padEnd(LIMITS.probeUrlMaxLength, 'u');
  const ex = await startTestExporter(t);
  const tooMany = await postReport(
    ex.url,
    'agent-a',
    report({ network_probes: Array.from({ length: LIMITS.probesMax + 1 }, (_, i) => probe(`http://h${i}/`)) }),
  );
  t.equal(tooMany.status, 400);
  t.match(await tooMany.json(), { error: 'invalid_field', message: /network_probes must have at most 32 entries/ });
  const tooLong = await postReport(ex.url, 'agent-a', report({ network_probes: [probe(`${url(0)}x`)] }));
  t.equal(tooLong.status, 400);
  t.match(await tooLong.json(), { error: 'invalid_field', message: /URL must be a string of at most 512 characters/ });

  // The largest an agent can make its share of /metrics: every probe at the caps, every peer failing.
  const peers = Array.from({ length: LIMITS.peersMax }, (_, i) => ({
    name: `p${i}`,
    node: 'n',
    network: 'pod',
    result: 'timeout',
    sent: 3,
    lost: 3,
    rtt_ms: null,
  }));
  const before = (await (await fetch(`${ex.url}/metrics`)).text()).split('\n').filter((l) => l && !l.startsWith('#')).length;
  const res = await postReport(
    ex.url,
    'agent-a',
    report({
      network: 'pod',
      network_probes: Array.from({ length: LIMITS.probesMax }, (_, i) => probe(url(i))),
      peers,
      dns: [{ server: 's', name: 'n', result: 'ok', latency_ms: 1 }],
    }),
  );
  t.equal(res.status, 200);
  const text = await (await fetch(`${ex.url}/metrics`)).text();
  const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
  const added = lines.length - before;
  const bytes = lines
    .filter((l) => l.includes('agent="agent-a"') || l.includes('agent="node-a-private_network"'))
    .reduce((n, l) => n + l.length + 1, 0);
  t.comment(`one agent at the caps adds ${added} series, ${bytes} bytes of /metrics`);
  t.ok(added <= SERIES_PER_AGENT_MAX, `${added} series <= ${SERIES_PER_AGENT_MAX} (docs/security.md)`);
  t.ok(bytes <= 256 * 1024, `${bytes} bytes <= 256 KiB`);
});

/** docs/security.md: series of one agent at most (presence and probes ~60, 8 legacy per probe URL, one per failing peer). */
const SERIES_PER_AGENT_MAX = 64 + 8 * LIMITS.probesMax + LIMITS.peersMax;

t.test('every rejected reason is in the error table and in docs/metrics.md', async (t) => {
  const doc = readFileSync(new URL('../docs/metrics.md', import.meta.url), 'utf8');
  const row = doc.split('\n').find((l) => l.startsWith('| `netchecker_reports_rejected_total`')) ?? '';
  for (const r of REJECT_REASONS) {
    t.ok(Object.hasOwn(ERRORS, r), `${r} in the error table`);
    t.ok(row.includes(`\`${r}\``), `${r} in docs/metrics.md`);
  }
});
