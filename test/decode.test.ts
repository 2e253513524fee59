// The report decoder: the original agent's quirks accepted, types and ranges enforced.
import t from 'tap';
import { decodeReport, nestingDepth, rfc3339Ms } from '../report/decode.js';
import { isValidAgentName, networkOf } from '../report/schema.js';
import { originalReports } from './helpers/exporter.js';

t.test('original agent fixtures decode', async (t) => {
  for (const { body, kind } of originalReports()) {
    const r = decodeReport(body.toString());
    t.ok(r.ok, kind);
    if (!r.ok) continue;
    t.equal(r.value.intervalSeconds, 2);
    t.equal(r.value.nodeName, 'kind-worker');
    t.equal(r.value.uptimeSeconds, kind === 'pod' ? 1250 : 1260);
    t.equal(r.value.probes?.length, 2);
    t.equal(r.value.probes?.[1]?.url, 'http://127.0.0.1:18082/api/v1/ping');
    t.equal(r.value.probes?.[1]?.httpCode, 200);
    t.equal(r.value.hostDateMs !== null && r.value.hostDateMs > Date.parse('2026-11-26T07:17:00Z'), true);
  }
});

t.test('lenient like the original server', async (t) => {
  const cases: Array<[string, string, (r: ReturnType<typeof decodeReport>) => void]> = [
    ['keys in any case', '{"Report_Interval":15,"NodeName":"n1","PODNAME":"p"}', (r) => t.same(r.ok && [r.value.intervalSeconds, r.value.nodeName], [15, 'n1'])],
    ['null objects and arrays', '{"report_interval":15,"nslookup":null,"ips":null,"network_probes":null,"zero_extender":null}', (r) => t.same(r.ok && [r.value.ips, r.value.probes], [null, null])],
    ['missing uptime (agents <= v1.1.0)', '{"report_interval":15}', (r) => t.equal(r.ok && r.value.uptimeSeconds, null)],
    ['empty nodename (old Helm chart)', '{"report_interval":15,"nodename":""}', (r) => t.equal(r.ok && r.value.nodeName, '')],
    ['unknown keys ignored', '{"report_interval":15,"future":{"a":[1,2]}}', (r) => t.ok(r.ok)],
    [
      'saturated durations read as unknown',
      '{"report_interval":15,"network_probes":[{"URL":"http://x/","ConnectionResult":1,"HTTPCode":200,"Total":9223372036854,"ContentTransfer":9223372036854,"TCPConnection":1}]}',
      (r) => t.same(r.ok && [r.value.probes?.[0]?.totalMs, r.value.probes?.[0]?.contentTransferMs, r.value.probes?.[0]?.tcpConnectionMs], [null, null, 1]),
    ],
    ['probe keys in any case', '{"report_interval":15,"network_probes":[{"url":"http://x/","httpcode":503}]}', (r) => t.equal(r.ok && r.value.probes?.[0]?.httpCode, 503)],
    ['our extra fields', '{"report_interval":15,"network":"host","agent_version":"0.1.0"}', (r) => t.same(r.ok && [r.value.network, r.value.agentVersion], ['host', '0.1.0'])],
    ['hostdate with offset and no fraction', '{"report_interval":15,"hostdate":"2026-11-26T09:17:35+02:00"}', (r) => t.equal(r.ok && r.value.hostDateMs, Date.parse('2026-11-26T07:17:35Z'))],
  ];
  for (const [name, body, check] of cases) t.test(name, async () => check(decodeReport(body)));
});

t.test('rfc3339 with nanoseconds keeps sub-millisecond precision', async (t) => {
  t.equal(rfc3339Ms('2026-11-26T07:17:35.845997791Z'), Date.parse('2026-11-26T07:17:35.845Z') + 0.997791);
  t.equal(rfc3339Ms('2026-11-26T07:17:35Z'), Date.parse('2026-11-26T07:17:35Z'));
});

t.test('nesting depth skips strings', async (t) => {
  t.equal(nestingDepth('{"a":"[[[[{{{{"}', 16), 1);
  t.equal(nestingDepth('{"a":"\\"[[[","b":[[1]]}', 16), 3);
});

t.test('the padding shortcut decodes exactly as the general path', async (t) => {
  // The shortcut cuts a top-level "zero_extender":[0,...,0] before parsing; a space after the
  // colon sends the same JSON down the general path, so both answers must be the same.
  const general = (body: string): string => JSON.stringify(decodeReport(body.replace(/"zero_extender":\[/gi, (m) => m.replace(':', ': '))));
  const bodies = [
    ...originalReports().map(({ body }) => body.toString()),
    '{"report_interval":1,"zero_extender":[0,0]}',
    '{"zero_extender":[0],"report_interval":1}',
    '{"zero_extender":[],"report_interval":1}',
    '{"report_interval":1,"zero_extender":[0,1,0]}',
    '{"report_interval":1,"ZERO_EXTENDER":"x","zero_extender":[0]}',
    '{"report_interval":1,"zero_extender":[0],"ZERO_EXTENDER":"x"}',
    '{"report_interval":1,"zero_extender":[0],"zero_extender":{}}',
    '{"k":"x,"zero_extender":[0],"}',
    '{"k":"x\\","zero_extender":[0],"report_interval":1}',
    '{"a":{"zero_extender":[0],"b":1},"report_interval":1}',
    '{"report_interval":1,"zero_extender":[0,0,]}',
    '{"report_interval":1,"zero_extender":[0,00]}',
    '{"report_interval":1,"zero_extender":[0,0]',
    '[{"zero_extender":[0]}]',
    '[1,"zero_extender":[0],2]',
    '{"zero_extender":[0],}',
    '{,"zero_extender":[0]}',
    '{"a":1,,"zero_extender":[0]}',
    '{"report_interval":1 ,"zero_extender":[0]}',
    `{"report_interval":1,"x":${'['.repeat(20)}${']'.repeat(20)},"zero_extender":[0]}`,
  ];
  for (const body of bodies) t.equal(JSON.stringify(decodeReport(body)), general(body), body.length > 80 ? `${body.slice(0, 60)}...` : body);
  const cut = decodeReport('{"report_interval":1,"zero_extender":[0],"ZERO_EXTENDER":"x"}');
  t.same(cut.ok ? null : cut.code, 'invalid_field', 'a later padding key in another case wins, as in Go');
});

t.test('agent names are pod names', async (t) => {
  for (const ok of ['netchecker-agent-x7k2p', 'a', 'a.b-c', 'x'.repeat(253)]) t.ok(isValidAgentName(ok), ok);
  for (const bad of ['', 'A', 'a/b', '..', 'a..b', '-a', 'a-', 'a%2Fb', 'ä', 'a b', 'x'.repeat(254)]) t.notOk(isValidAgentName(bad), bad);
});

t.test('network kind: declared, else the original name rule', async (t) => {
  t.equal(networkOf('netchecker-agent-hostnet-q9z4m', null), 'host');
  t.equal(networkOf('netchecker-agent-x7k2p', null), 'pod');
  t.equal(networkOf('netchecker-agent-x7k2p', 'host'), 'host');
});
