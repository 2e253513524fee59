// The report decoder: the original agent's quirks accepted, types and ranges enforced.
import fc from 'fast-check';
import t from 'tap';
import { decodeReport } from '../report/decode.js';
import { nestingDepth } from '../report/json-shape.js';
import { rfc3339Ms } from '../report/rfc3339.js';
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
    [
      'keys in any case',
      '{"Report_Interval":15,"NodeName":"n1","PODNAME":"p"}',
      (r) => t.same(r.ok && [r.value.intervalSeconds, r.value.nodeName], [15, 'n1']),
    ],
    [
      'null objects and arrays',
      '{"report_interval":15,"nslookup":null,"ips":null,"network_probes":null,"zero_extender":null}',
      (r) => t.same(r.ok && [r.value.ips, r.value.probes], [null, null]),
    ],
    ['missing uptime (agents <= v1.1.0)', '{"report_interval":15}', (r) => t.equal(r.ok && r.value.uptimeSeconds, null)],
    ['empty nodename (old Helm chart)', '{"report_interval":15,"nodename":""}', (r) => t.equal(r.ok && r.value.nodeName, '')],
    ['unknown keys ignored', '{"report_interval":15,"future":{"a":[1,2]}}', (r) => t.ok(r.ok)],
    [
      'saturated durations read as unknown',
      '{"report_interval":15,"network_probes":[{"URL":"http://x/","ConnectionResult":1,"HTTPCode":200,"Total":9223372036854,"ContentTransfer":9223372036854,"TCPConnection":1}]}',
      (r) =>
        t.same(r.ok && [r.value.probes?.[0]?.totalMs, r.value.probes?.[0]?.contentTransferMs, r.value.probes?.[0]?.tcpConnectionMs], [
          null,
          null,
          1,
        ]),
    ],
    [
      'probe keys in any case',
      '{"report_interval":15,"network_probes":[{"url":"http://x/","httpcode":503}]}',
      (r) => t.equal(r.ok && r.value.probes?.[0]?.httpCode, 503),
    ],
    [
      'our extra fields',
      '{"report_interval":15,"network":"host","agent_version":"0.1.0"}',
      (r) => t.same(r.ok && [r.value.network, r.value.agentVersion], ['host', '0.1.0']),
    ],
    [
      'agent_started: the agent process start',
      '{"report_interval":15,"agent_started":"2026-11-26T07:00:01.250Z"}',
      (r) => t.equal(r.ok && r.value.agentStartedMs, Date.parse('2026-11-26T07:00:01.250Z')),
    ],
    [
      'hostdate with offset and no fraction',
      '{"report_interval":15,"hostdate":"2026-11-26T09:17:35+02:00"}',
      (r) => t.equal(r.ok && r.value.hostDateMs, Date.parse('2026-11-26T07:17:35Z')),
    ],
  ];
  for (const [name, body, check] of cases) t.test(name, async () => check(decodeReport(body)));
});

t.test('rfc3339 with nanoseconds keeps sub-millisecond precision', async (t) => {
  t.equal(rfc3339Ms('2026-11-26T07:17:35.845997791Z'), Date.parse('2026-11-26T07:17:35.845Z') + 0.997791);
  t.equal(rfc3339Ms('2026-11-26T07:17:35Z'), Date.parse('2026-11-26T07:17:35Z'));
});

/** The regular expression rfc3339Ms replaced, as the oracle: both must accept the same strings and agree. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
function oracle(s: string): number | 'bad' {
  const g = RFC3339.exec(s);
  if (!g) return 'bad';
  const [y, mo, d, h, mi, sec] = g.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  // Date.UTC rolls Feb 31 over into March: a date exists when it reads back the same (in a year
  // of the same 400-year leap cycle, as Date.UTC reads years 0-99 as 1900-1999).
  if (mo < 1 || mo > 12 || d < 1 || new Date(Date.UTC(2000 + (y % 400), mo - 1, d)).getUTCDate() !== d || h > 23 || mi > 59 || sec > 59)
    return 'bad';
  if (!g[8] && (Number(g[10]) > 23 || Number(g[11]) > 59)) return 'bad';
  const offsetMin = g[8] ? 0 : (g[9] === '-' ? -1 : 1) * (Number(g[10]) * 60 + Number(g[11]));
  return Date.UTC(y, mo - 1, d, h, mi, sec) + (g[7] ? Number(g[7]) * 1000 : 0) - offsetMin * 60_000;
}
const parsed = (s: string): number | 'bad' => rfc3339Ms(s) ?? 'bad';

t.test('rfc3339Ms refuses dates and offsets that do not exist', async (t) => {
  const cases: Array<[string, number | 'bad']> = [
    ['2026-02-31T00:00:00Z', 'bad'],
    ['2026-04-31T00:00:00Z', 'bad'],
    ['2023-02-29T00:00:00Z', 'bad'],
    ['2100-02-29T00:00:00Z', 'bad'],
    ['2024-02-29T00:00:00Z', Date.parse('2024-02-29T00:00:00Z')],
    ['2000-02-29T00:00:00Z', Date.parse('2000-02-29T00:00:00Z')],
    ['2016-12-31T23:59:60Z', 'bad'], // a real leap second: refused as Go's time.Parse refuses it
    ['2026-11-26T07:17:60Z', 'bad'],
    ['2026-11-26T07:17:35+99:99', 'bad'],
    ['2026-11-26T07:17:35+24:00', 'bad'],
    ['2026-11-26T07:17:35-05:60', 'bad'],
    ['2026-11-26T07:17:35+23:59', Date.parse('2026-11-26T07:17:35+23:59')],
  ];
  for (const [s, want] of cases) t.equal(parsed(s), want, s);
  const r = decodeReport('{"report_interval":15,"hostdate":"2026-02-31T00:00:00Z"}');
  t.same(
    r.ok ? null : [r.code, r.detail],
    ['invalid_field', 'hostdate must be an RFC 3339 timestamp'],
    'a report with such a date is refused',
  );
});

t.test('rfc3339Ms agrees with the RFC 3339 regular expression on valid, near-valid and mutated strings', async (t) => {
  const part = (n: number) => fc.integer({ min: 0, max: 10 ** n - 1 }).map((v) => String(v).padStart(n, '0'));
  // Mostly in range, sometimes any two digits: both sides of every range check.
  const field = (min: number, max: number) =>
    fc.oneof({ arbitrary: fc.integer({ min, max }).map((v) => String(v).padStart(2, '0')), weight: 19 }, { arbitrary: part(2), weight: 1 });
  const fraction = fc.oneof(
    { arbitrary: fc.constant(null), weight: 2 },
    { arbitrary: fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 9 }), weight: 7 },
    { arbitrary: fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 10, maxLength: 11 }), weight: 1 },
  );
  const zone = fc.oneof(
    { arbitrary: fc.constantFrom('Z', 'z', '+05:30', '-00:00', '+14:00'), weight: 9 },
    { arbitrary: fc.constantFrom('+5:30', '-12:3', 'Q', '', '+05:300', '05:30'), weight: 1 },
  );
  const valid = fc
    .tuple(
      part(4),
      field(1, 12),
      field(1, 31),
      fc.constantFrom('T', 't', 'T', 'x'),
      field(0, 23),
      field(0, 59),
      field(0, 60),
      fraction,
      zone,
    )
    .map(([y, mo, d, sep, h, mi, sec, frac, z]) => `${y}-${mo}-${d}${sep}${h}:${mi}:${sec}${frac === null ? '' : `.${frac}`}${z}`);
  const mutated = fc
    .tuple(valid, fc.nat(), fc.constantFrom('', '0', '-', ':', '.', 'T', 'Z', '+', ' ', '\u0660', '99'))
    .map(([s, at, c]) => s.slice(0, at % (s.length + 1)) + c + s.slice((at % (s.length + 1)) + 1));
  const noise = fc.string({ unit: fc.constantFrom(...'0123456789-:+.TtZz '), maxLength: 40 });
  let count = 0;
  let accepted = 0;
  fc.assert(
    fc.property(fc.oneof(valid, mutated, noise), (s) => {
      count++;
      const want = oracle(s);
      if (want !== 'bad') accepted++;
      return Object.is(parsed(s), want);
    }),
    { seed: 20261126, numRuns: 20_000 },
  );
  t.ok(accepted > 2000 && accepted < count - 2000, `both outcomes well covered (${accepted} of ${count} accepted)`);
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
  for (const body of bodies)
    t.equal(JSON.stringify(decodeReport(body)), general(body), body.length > 80 ? `${body.slice(0, 60)}...` : body);
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
