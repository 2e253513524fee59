import { readFileSync } from 'node:fs';
import t from 'tap';
import type { ProbeOutcome } from '../agent/probes/probe.js';
import { buildReport, interfaceAddresses, networkProbes, wireProbe, type ReportInput } from '../agent/report.js';
import { VERSION } from '../lib/version.js';
import { decodeReport } from '../report/decode.js';
import { SATURATED_MS } from '../report/schema.js';

const ok: ProbeOutcome = {
  url: 'http://10.0.0.1:8081/api/v1/ping',
  result: 'ok',
  httpCode: 200,
  phasesMs: { dns: 0.4, connect: 1.5, first_byte: 2.49, transfer: 0.2, total: 4.6 },
};
const refused: ProbeOutcome = {
  url: 'http://a.example/',
  result: 'refused',
  httpCode: 0,
  phasesMs: { dns: 3.2, total: 7.9 },
  error: 'connect ECONNREFUSED',
};
const slow503: ProbeOutcome = {
  url: 'https://b.example/',
  result: 'http_error',
  httpCode: 503,
  phasesMs: { connect: 1, tls: 2, first_byte: 3, transfer: 0, total: 6.7 },
};

const input: ReportInput = {
  config: { intervalSeconds: 15, nodeName: 'kind-worker', name: 'netchecker-agent-x7k2p', network: 'pod', zeroExtenderLength: 1500 },
  fields: { nslookup: { 'netchecker-service': ['10.96.0.10'] }, network_probes: networkProbes([refused, slow503], ok) },
  interfaces: {
    lo: [
      { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' },
      {
        address: '::1',
        netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
        family: 'IPv6',
        mac: '00:00:00:00:00:00',
        internal: true,
        cidr: '::1/128',
        scopeid: 0,
      },
    ],
    eth0: [
      { address: '192.0.2.2', netmask: '255.255.255.0', family: 'IPv4', mac: '02:42:c0:00:02:02', internal: false, cidr: '192.0.2.2/24' },
    ],
  },
  nowMs: Date.UTC(2026, 10, 26, 7, 17, 35, 845),
  nodeUptimeSeconds: 1250.93,
  startedMs: Date.UTC(2026, 10, 26, 7, 0, 1, 250),
};

t.test('compat keys and types', async (t) => {
  const r = buildReport(input);
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/original-agent/report-pod.json', import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;
  t.same(
    Object.keys(r),
    [...Object.keys(fixture), 'network', 'agent_version', 'agent_started'],
    "the original's keys in its order, then ours",
  );
  t.equal(r.report_interval, 15);
  t.equal(r.nodename, 'kind-worker');
  t.equal(r.podname, 'netchecker-agent-x7k2p');
  t.equal(r.hostdate, '2026-11-26T07:17:35.845Z');
  t.match(r.hostdate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
  t.equal(r.uptime, 1250, 'whole seconds of node uptime');
  t.same(r.nslookup, { 'netchecker-service': ['10.96.0.10'] });
  t.same(r.ips, { lo: ['127.0.0.1/8', '::1/128'], eth0: ['192.0.2.2/24'] });
  t.equal(r.zero_extender.length, 1500);
  t.ok(r.zero_extender.every((z) => z === 0));
  t.equal(r.network, 'pod');
  t.equal(r.agent_version, VERSION);
  t.equal(r.agent_started, '2026-11-26T07:00:01.250Z', 'the process start, the same in every report of the process');
  const fixtureProbe = (fixture.network_probes as Array<Record<string, unknown>>)[0] as Record<string, unknown>;
  for (const p of r.network_probes ?? []) {
    t.same(Object.keys(p), [...Object.keys(fixtureProbe), 'Result', 'PhasesMs']);
  }
});

t.test('the server ping probe is last', async (t) => {
  const urls = (buildReport(input).network_probes ?? []).map((p) => p.URL);
  t.same(urls, ['http://a.example/', 'https://b.example/', 'http://10.0.0.1:8081/api/v1/ping']);
  t.same(
    networkProbes([], ok).map((p) => p.URL),
    [ok.url],
  );
});

t.test('probe: rounded integer ms, precise phases, zeros without a response', async (t) => {
  t.same(wireProbe(ok), {
    URL: ok.url,
    ConnectionResult: 1,
    HTTPCode: 200,
    Total: 5,
    ContentTransfer: 0,
    TCPConnection: 2,
    DNSLookup: 0,
    Connect: 2,
    ServerProcessing: 2,
    Result: 'ok',
    PhasesMs: ok.phasesMs,
  });
  t.same(wireProbe(refused), {
    URL: refused.url,
    ConnectionResult: 0,
    HTTPCode: 0,
    Total: 0,
    ContentTransfer: 0,
    TCPConnection: 0,
    DNSLookup: 0,
    Connect: 0,
    ServerProcessing: 0,
    Result: 'refused',
    PhasesMs: refused.phasesMs,
  });
  const e = wireProbe(slow503);
  t.equal(e.ConnectionResult, 1);
  t.equal(e.HTTPCode, 503);
  t.equal(e.Total, 7);
  t.equal(e.Result, 'http_error');
  for (const p of buildReport(input).network_probes ?? []) {
    for (const k of [
      'ConnectionResult',
      'HTTPCode',
      'Total',
      'ContentTransfer',
      'TCPConnection',
      'DNSLookup',
      'Connect',
      'ServerProcessing',
    ] as const) {
      t.ok(Number.isInteger(p[k]) && p[k] >= 0 && p[k] < SATURATED_MS, `${p.URL} ${k} is a plain integer`);
    }
  }
});

t.test('interfaces without a CIDR fall back to the address; empty lists stay', async (t) => {
  t.same(
    interfaceAddresses({ a: [{ address: '10.0.0.1', netmask: '0.0.0.0', family: 'IPv4', mac: '', internal: false, cidr: null }], b: [] }),
    {
      a: ['10.0.0.1'],
      b: [],
    },
  );
});

t.test('zero extender length 0', async (t) => {
  t.same(buildReport({ ...input, config: { ...input.config, zeroExtenderLength: 0 } }).zero_extender, []);
});

t.test('the exporter decoder accepts it and reads it back', async (t) => {
  const d = decodeReport(JSON.stringify(buildReport(input)));
  if (!d.ok) return t.fail(`${d.code}: ${d.detail}`);
  t.equal(d.value.intervalSeconds, 15);
  t.equal(d.value.podName, 'netchecker-agent-x7k2p');
  t.equal(d.value.network, 'pod');
  t.equal(d.value.hostDateMs, input.nowMs);
  t.equal(d.value.probes?.[2]?.result, 'ok');
  t.same(d.value.probes?.[2]?.phasesMs, ok.phasesMs);
});
