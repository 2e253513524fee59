// Bad reports, one kind per row: each gets its 4xx and error code, nothing is stored, no agent
// metric moves, the rejected counter counts it by reason, and the exporter keeps serving.
import { request } from 'node:http';
import t from 'tap';
import { report, sample, startTestExporter } from './helpers/exporter.js';

interface Case {
  kind: string;
  body: string | Buffer;
  name?: string;
  headers?: Record<string, string>;
  status: number;
  code: string;
}

const json = { 'Content-Type': 'application/json' };
const deep = `{"report_interval":15,"x":${'['.repeat(40)}${']'.repeat(40)}}`;
const probe = (p: Record<string, unknown>): string => report({ network_probes: [{ URL: 'http://s/', ...p }] });

const cases: Case[] = [
  { kind: 'malformed JSON', body: '{"report_interval":', status: 400, code: 'invalid_json' },
  { kind: 'empty body', body: '', status: 400, code: 'invalid_json' },
  { kind: 'trailing garbage', body: '{"report_interval":15} x', status: 400, code: 'invalid_json' },
  { kind: 'NaN literal', body: '{"report_interval":NaN}', status: 400, code: 'invalid_json' },
  { kind: 'Infinity literal', body: '{"report_interval":Infinity}', status: 400, code: 'invalid_json' },
  { kind: 'JSON array', body: '[]', status: 400, code: 'not_an_object' },
  { kind: 'JSON string', body: '"report"', status: 400, code: 'not_an_object' },
  { kind: 'JSON null', body: 'null', status: 400, code: 'not_an_object' },
  { kind: 'missing report_interval', body: '{}', status: 400, code: 'missing_field' },
  {
    kind: 'nulls everywhere',
    body: '{"report_interval":null,"nodename":null,"podname":null,"hostdate":null,"uptime":null,"nslookup":null,"ips":null,"network_probes":null}',
    status: 400,
    code: 'missing_field',
  },
  { kind: 'interval as string', body: report({ report_interval: '15' }), status: 400, code: 'invalid_field' },
  { kind: 'fractional interval', body: report({ report_interval: 1.5 }), status: 400, code: 'invalid_field' },
  { kind: 'zero interval', body: report({ report_interval: 0 }), status: 400, code: 'invalid_field' },
  { kind: 'negative interval', body: report({ report_interval: -15 }), status: 400, code: 'invalid_field' },
  { kind: 'interval over an hour', body: report({ report_interval: 3601 }), status: 400, code: 'invalid_field' },
  { kind: 'number overflowing to infinity', body: '{"report_interval":1e400}', status: 400, code: 'invalid_field' },
  { kind: 'nodename as number', body: report({ nodename: 7 }), status: 400, code: 'invalid_field' },
  { kind: 'nodename too long', body: report({ nodename: 'n'.repeat(254) }), status: 400, code: 'invalid_field' },
  { kind: 'podname as object', body: report({ podname: { a: 1 } }), status: 400, code: 'invalid_field' },
  { kind: 'hostdate not a timestamp', body: report({ hostdate: 'yesterday' }), status: 400, code: 'invalid_field' },
  { kind: 'hostdate month 13', body: report({ hostdate: '2026-13-01T00:00:00Z' }), status: 400, code: 'invalid_field' },
  { kind: 'hostdate February 31', body: report({ hostdate: '2026-02-31T00:00:00Z' }), status: 400, code: 'invalid_field' },
  { kind: 'hostdate second 60', body: report({ hostdate: '2026-11-26T07:17:60Z' }), status: 400, code: 'invalid_field' },
  { kind: 'hostdate offset +99:99', body: report({ hostdate: '2026-11-26T07:17:35+99:99' }), status: 400, code: 'invalid_field' },
  { kind: 'agent_started not a timestamp', body: report({ agent_started: '2026-11-26' }), status: 400, code: 'invalid_field' },
  { kind: 'NUL in nodename', body: report({ nodename: 'node\u0000a' }), status: 400, code: 'invalid_field' },
  { kind: 'newline in podname', body: report({ podname: 'pod\na' }), status: 400, code: 'invalid_field' },
  { kind: 'escape character in agent_version', body: report({ agent_version: '1.0\u001b[31m' }), status: 400, code: 'invalid_field' },
  { kind: 'C1 control character in a probe URL', body: probe({ URL: 'http://s/\u0085' }), status: 400, code: 'invalid_field' },
  {
    kind: 'DEL in a peer name',
    body: report({ peers: [{ name: 'p\u007f', node: 'n', network: 'pod', result: 'ok', sent: 1, lost: 0, rtt_ms: 1 }] }),
    status: 400,
    code: 'invalid_field',
  },
  {
    kind: 'tab in a peer node',
    body: report({ peers: [{ name: 'p', node: 'n\t', network: 'pod', result: 'ok', sent: 1, lost: 0, rtt_ms: 1 }] }),
    status: 400,
    code: 'invalid_field',
  },
  {
    kind: 'NUL in a DNS name',
    body: report({ dns: [{ server: '10.0.0.10', name: 'a\u0000.b', result: 'ok', latency_ms: 1 }] }),
    status: 400,
    code: 'invalid_field',
  },
  { kind: 'NUL in an interface name', body: report({ ips: { 'eth0\u0000': ['10.0.0.1'] } }), status: 400, code: 'invalid_field' },
  { kind: 'NUL in an address', body: report({ nslookup: { svc: ['10.0.0.1\u0000'] } }), status: 400, code: 'invalid_field' },
  { kind: 'negative uptime', body: report({ uptime: -1 }), status: 400, code: 'invalid_field' },
  { kind: 'uptime as string', body: report({ uptime: '1250' }), status: 400, code: 'invalid_field' },
  { kind: 'nslookup as array', body: report({ nslookup: ['a'] }), status: 400, code: 'invalid_field' },
  { kind: 'ips value not a list', body: report({ ips: { eth0: '10.0.0.1/24' } }), status: 400, code: 'invalid_field' },
  { kind: 'ips addresses as numbers', body: report({ ips: { eth0: [1, 2] } }), status: 400, code: 'invalid_field' },
  { kind: 'network_probes as object', body: report({ network_probes: { URL: 'x' } }), status: 400, code: 'invalid_field' },
  { kind: 'probe as string', body: report({ network_probes: ['http://s/'] }), status: 400, code: 'invalid_field' },
  { kind: 'probe without URL', body: report({ network_probes: [{ HTTPCode: 200 }] }), status: 400, code: 'missing_field' },
  { kind: 'negative duration', body: probe({ Total: -1 }), status: 400, code: 'invalid_field' },
  { kind: 'duration as string', body: probe({ Total: '12' }), status: 400, code: 'invalid_field' },
  { kind: 'HTTP code out of range', body: probe({ HTTPCode: 1000 }), status: 400, code: 'invalid_field' },
  { kind: 'ConnectionResult not 0/1', body: probe({ ConnectionResult: 2 }), status: 400, code: 'invalid_field' },
  {
    kind: 'too many probes',
    body: report({ network_probes: Array.from({ length: 257 }, (_, i) => ({ URL: `http://s/${i}` })) }),
    status: 400,
    code: 'invalid_field',
  },
  { kind: 'unknown network kind', body: report({ network: 'wifi' }), status: 400, code: 'invalid_field' },
  { kind: 'zero_extender not an array', body: report({ zero_extender: '000' }), status: 400, code: 'invalid_field' },
  { kind: 'listen without a port', body: report({ listen: '10.0.0.1' }), status: 400, code: 'invalid_field' },
  { kind: 'listen port out of range', body: report({ listen: '10.0.0.1:70000' }), status: 400, code: 'invalid_field' },
  { kind: 'dns as object', body: report({ dns: { server: '10.0.0.10' } }), status: 400, code: 'invalid_field' },
  {
    kind: 'dns query without a name',
    body: report({ dns: [{ server: '10.0.0.10', result: 'ok', latency_ms: 1 }] }),
    status: 400,
    code: 'missing_field',
  },
  {
    kind: 'dns result not a class',
    body: report({ dns: [{ server: '10.0.0.10', name: 'a.b', result: 'great', latency_ms: 1 }] }),
    status: 400,
    code: 'invalid_field',
  },
  {
    kind: 'dns negative latency',
    body: report({ dns: [{ server: '10.0.0.10', name: 'a.b', result: 'ok', latency_ms: -1 }] }),
    status: 400,
    code: 'invalid_field',
  },
  {
    kind: 'too many dns queries',
    body: report({ dns: Array.from({ length: 65 }, () => ({ server: 's', name: 'n', result: 'ok', latency_ms: 1 })) }),
    status: 400,
    code: 'invalid_field',
  },
  {
    kind: 'peer with an unknown network',
    body: report({ peers: [{ name: 'p', node: 'n', network: 'wifi', result: 'ok', sent: 1, lost: 0, rtt_ms: 1 }] }),
    status: 400,
    code: 'invalid_field',
  },
  {
    kind: 'peer losing more than sent',
    body: report({ peers: [{ name: 'p', node: 'n', network: 'pod', result: 'ok', sent: 3, lost: 4, rtt_ms: 1 }] }),
    status: 400,
    code: 'invalid_field',
  },
  {
    kind: 'peer result with label-breaking characters',
    body: report({ peers: [{ name: 'p', node: 'n', network: 'pod', result: 'x"}\n', sent: 1, lost: 1, rtt_ms: null }] }),
    status: 400,
    code: 'invalid_field',
  },
  {
    kind: 'too many peers',
    body: report({
      peers: Array.from({ length: 257 }, (_, i) => ({
        name: `p${i}`,
        node: 'n',
        network: 'pod',
        result: 'ok',
        sent: 1,
        lost: 0,
        rtt_ms: 1,
      })),
    }),
    status: 400,
    code: 'invalid_field',
  },
  { kind: 'icmp_available as string', body: report({ icmp_available: 'yes' }), status: 400, code: 'invalid_field' },
  { kind: 'path MTU below 68 bytes', body: report({ path_mtu: { exporter: 12, peers: null } }), status: 400, code: 'invalid_field' },
  { kind: 'path MTU fractional', body: report({ path_mtu: { exporter: 1400.5, peers: null } }), status: 400, code: 'invalid_field' },
  {
    kind: 'throttled ratio above 1',
    body: report({ integrity: { event_loop_lag_ms: 1, cpu_throttled_ratio: 1.5, starved: false } }),
    status: 400,
    code: 'invalid_field',
  },
  {
    kind: 'integrity without starved',
    body: report({ integrity: { event_loop_lag_ms: 1, cpu_throttled_ratio: null } }),
    status: 400,
    code: 'missing_field',
  },
  {
    kind: 'negative event-loop lag',
    body: report({ integrity: { event_loop_lag_ms: -5, cpu_throttled_ratio: null, starved: false } }),
    status: 400,
    code: 'invalid_field',
  },
  {
    kind: 'API server check of an unknown via',
    body: report({
      api_server: [{ via: 'proxy', target: 'h:1', tcp_result: 'ok', tcp_ms: 1, result: 'ok', http_code: 200, latency_ms: 2 }],
    }),
    status: 400,
    code: 'invalid_field',
  },
  {
    kind: 'two API server checks of one via',
    body: report({
      api_server: [1, 2].map((port) => ({
        via: 'dns',
        target: `h:${port}`,
        tcp_result: 'ok',
        tcp_ms: 1,
        result: 'ok',
        http_code: 200,
        latency_ms: 2,
      })),
    }),
    status: 400,
    code: 'invalid_field',
  },
  {
    kind: 'must-be-blocked target without a port',
    body: report({ must_be_blocked: [{ target: 'db.example', result: 'ok' }] }),
    status: 400,
    code: 'invalid_field',
  },
  {
    kind: 'must-be-blocked target twice',
    body: report({
      must_be_blocked: [
        { target: 'h:1', result: 'ok' },
        { target: 'h:1', result: 'timeout' },
      ],
    }),
    status: 400,
    code: 'invalid_field',
  },
  {
    kind: 'too many must-be-blocked targets',
    body: report({ must_be_blocked: Array.from({ length: 17 }, (_, i) => ({ target: `h:${i + 1}`, result: 'timeout' })) }),
    status: 400,
    code: 'invalid_field',
  },
  {
    kind: 'API server result with label-breaking characters',
    body: report({
      api_server: [{ via: 'service', target: 'h:1', tcp_result: 'ok', tcp_ms: 1, result: 'x"}', http_code: 0, latency_ms: null }],
    }),
    status: 400,
    code: 'invalid_field',
  },
  { kind: 'deep nesting', body: deep, status: 400, code: 'too_deep' },
  { kind: 'body over the limit', body: report({ zero_extender: new Array(40_000).fill(0) }), status: 413, code: 'body_too_large' },
  {
    kind: 'invalid UTF-8',
    body: Buffer.concat([Buffer.from('{"report_interval":15,"nodename":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
    status: 400,
    code: 'invalid_encoding',
  },
  {
    kind: 'multipart content type',
    body: report(),
    headers: { 'Content-Type': 'multipart/form-data; boundary=x' },
    status: 415,
    code: 'unsupported_media_type',
  },
  { kind: 'name with capitals', name: 'Agent-A', body: report(), status: 400, code: 'invalid_agent_name' },
  { kind: 'name ..', name: '..', body: report(), status: 400, code: 'invalid_agent_name' },
  { kind: 'name with encoded slash', name: 'a%2Fb', body: report(), status: 400, code: 'invalid_agent_name' },
  { kind: 'name with unicode', name: '%C3%A4gent', body: report(), status: 400, code: 'invalid_agent_name' },
  { kind: 'name with a space', name: 'a%20b', body: report(), status: 400, code: 'invalid_agent_name' },
  { kind: 'name over 253 characters', name: 'a'.repeat(254), body: report(), status: 400, code: 'invalid_agent_name' },
  { kind: 'name starting with a dash', name: '-agent', body: report(), status: 400, code: 'invalid_agent_name' },
];

/** A raw request: exact path and bytes, no client-side normalisation. */
function send(
  url: string,
  path: string,
  body: string | Buffer,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { hostname, port, path, method: 'POST', headers: { ...headers, 'Content-Length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res
          .setEncoding('utf8')
          .on('data', (c: string) => (text += c))
          .on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    // The exporter may answer and close before reading a refused body.
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
    req.end(body);
  });
}

t.test(`${cases.length} kinds of bad input`, async (t) => {
  t.ok(cases.length >= 30);
  const ex = await startTestExporter(t, ['--max-body-bytes', '65536', '--expect', 'agent-ok']);
  const before = await (await fetch(`${ex.url}/metrics`)).text();
  for (const c of cases) {
    const res = await send(ex.url, `/api/v1/agents/${c.name ?? 'agent-bad'}`, c.body, c.headers ?? json);
    t.equal(res.status, c.status, `${c.kind}: status`);
    let parsed: { error?: string; message?: string } = {};
    try {
      parsed = JSON.parse(res.body) as typeof parsed;
    } catch {
      t.fail(`${c.kind}: body is not JSON: ${res.body.slice(0, 100)}`);
    }
    t.equal(parsed.error, c.code, `${c.kind}: code`);
    t.ok(typeof parsed.message === 'string' && parsed.message.length > 10, `${c.kind}: a message`);
    t.notMatch(res.body, /\bat .*\.(ts|js):\d+/, `${c.kind}: no stack trace`);
  }
  t.same(await (await fetch(`${ex.url}/api/v1/agents/`)).json(), {}, 'nothing stored');
  const after = await (await fetch(`${ex.url}/metrics`)).text();
  const agentSeries = (text: string): string[] => text.split('\n').filter((l) => /^(netchecker_agent_|ncagent_)/.test(l));
  t.same(agentSeries(after), agentSeries(before), 'no agent metric touched');
  t.equal(sample(after, 'netchecker_reports_accepted_total'), 0);
  const byReason = new Map<string, number>();
  for (const c of cases) byReason.set(c.code, (byReason.get(c.code) ?? 0) + 1);
  for (const [reason, n] of byReason)
    t.equal(sample(after, `netchecker_reports_rejected_total{reason="${reason}"}`), n, `rejected ${reason}`);

  const good = await send(ex.url, '/api/v1/agents/agent-ok', report(), json);
  t.equal(good.status, 200, 'still serving: a good report is accepted after all of that');
  t.equal((await fetch(`${ex.url}/api/v1/connectivity_check`)).status, 200);
});

t.test('bad query strings and names on GET', async (t) => {
  const ex = await startTestExporter(t);
  const q = await fetch(`${ex.url}/api/v1/connectivity_check?verbose=1`);
  t.equal(q.status, 400);
  t.match(await q.json(), { error: 'invalid_query' });
  const name = await fetch(`${ex.url}/api/v1/agents/Bad_Name`);
  t.equal(name.status, 400);
  t.match(await name.json(), { error: 'invalid_agent_name' });
  t.equal((await fetch(`${ex.url}/api/v1/agents/a/b`)).status, 404);
});
