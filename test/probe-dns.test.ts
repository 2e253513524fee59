// DNS probe against a real dnsmasq on loopback: result classes kept apart, latency measured,
// TCP fallback on truncation, timeouts when the resolver is gone; resolv.conf and rcode tables.
// Dual-stack agents: A and AAAA per name, the family that fails alone in the exporter's /metrics.
import dgram from 'node:dgram';
import t from 'tap';
import { classifyRcode } from '../agent/probes/classify.js';
import { dnsProbe, dnsTargets, parseResolvConf, parseResolver, probeDns, wireDns } from '../agent/probes/dns.js';
import type { ProbeSettings } from '../agent/probes/probe.js';
import { createLogger } from '../lib/log.js';
import type { ResultClass } from '../report/schema.js';
import { postReport, report, sample, startTestExporter } from './helpers/exporter.js';
import { startDnsmasq } from './lab/dnsmasq.js';

const big = Array.from({ length: 40 }, (_, i) => ['big.test', `127.0.1.${i + 1}`] as const);

t.test('result classes from a real resolver', async (t) => {
  const dns = await startDnsmasq(t, {
    address: '127.0.0.1',
    port: 0,
    records: [['kubernetes.default.svc.cluster.local', '127.0.0.9'], ...big],
    nxdomains: ['nx.test'],
  });
  const opts = { timeoutMs: 1000 };
  const ok = await probeDns({ server: dns.server, name: 'kubernetes.default.svc.cluster.local' }, opts);
  t.equal(ok.result, 'ok');
  t.ok(ok.latencyMs !== null && ok.latencyMs > 0 && ok.latencyMs < 1000, 'latency measured');
  t.equal((await probeDns({ server: dns.server, name: 'missing.nx.test' }, opts)).result, 'dns_nxdomain');
  t.equal((await probeDns({ server: dns.server, name: 'elsewhere.example' }, opts)).result, 'dns_refused', 'no upstream: REFUSED');
  const truncated = await probeDns({ server: dns.server, name: 'big.test' }, opts);
  t.equal(truncated.result, 'ok', '40 A records do not fit 512 bytes of UDP: answered over TCP');
  await dns.stop();
  const gone = await probeDns({ server: dns.server, name: 'kubernetes.default.svc.cluster.local' }, { timeoutMs: 300 });
  t.same([gone.result, gone.latencyMs], ['timeout', null], 'resolver stopped: timeout, no latency');
  t.equal((await probeDns({ server: 'resolver.example', name: 'a.b' }, opts)).result, 'error', 'a resolver must be an IP');
});

t.test('rcode table', async (t) => {
  t.same([0, 1, 2, 3, 4, 5, 9].map(classifyRcode), [
    'ok',
    'dns_error',
    'dns_servfail',
    'dns_nxdomain',
    'dns_error',
    'dns_refused',
    'dns_error',
  ]);
});

t.test('the wire keeps its DNS words', async (t) => {
  const wire = (result: ResultClass): string => wireDns({ server: '10.96.0.10', name: 'a.b', result, latencyMs: null }).result;
  const table: Array<[ResultClass, string]> = [
    ['ok', 'ok'],
    ['dns_nxdomain', 'nxdomain'],
    ['dns_servfail', 'servfail'],
    ['dns_refused', 'refused'],
    ['timeout', 'timeout'],
    ['dns_error', 'other'],
    ['error', 'other'],
  ];
  for (const [result, want] of table) t.equal(wire(result), want, result);
});

t.test('resolv.conf and resolver addresses', async (t) => {
  const conf = parseResolvConf(
    '# comment\nnameserver 10.96.0.10\nnameserver fd00::a\nnameserver bogus\nsearch default.svc.cluster.local svc.cluster.local\noptions ndots:5\n',
  );
  t.same(conf, { nameservers: ['10.96.0.10', 'fd00::a'], search: ['default.svc.cluster.local', 'svc.cluster.local'] });
  t.same(parseResolver('[fd00::a]:5353'), { host: 'fd00::a', port: 5353 });
  t.same(parseResolver('10.0.0.1'), { host: '10.0.0.1', port: 53 });
  t.equal(parseResolver('10.0.0.1:0'), null);
  t.same(dnsTargets(['10.96.0.10'], ['netchecker-service', 'kubernetes.default.svc.cluster.local'], ['default.svc.cluster.local']), [
    { server: '10.96.0.10', name: 'netchecker-service.default.svc.cluster.local' },
    { server: '10.96.0.10', name: 'kubernetes.default.svc.cluster.local' },
  ]);
});

t.test('which queries: a dual-stack agent asks each family, over its own resolver family when it has both', async (t) => {
  const names = ['a.test'];
  const table: Array<[string, string[], boolean, unknown]> = [
    [
      'single-stack: one A query per resolver, no family',
      ['10.96.0.10', 'fd00::a'],
      false,
      [
        { server: '10.96.0.10', name: 'a.test' },
        { server: 'fd00::a', name: 'a.test' },
      ],
    ],
    [
      'dual-stack, one IPv4 resolver: A and AAAA over it',
      ['10.96.0.10'],
      true,
      [
        { server: '10.96.0.10', name: 'a.test', family: 'ipv4' },
        { server: '10.96.0.10', name: 'a.test', family: 'ipv6' },
      ],
    ],
    [
      'dual-stack, one IPv6 resolver: A and AAAA over it',
      ['[fd00::a]:53'],
      true,
      [
        { server: '[fd00::a]:53', name: 'a.test', family: 'ipv4' },
        { server: '[fd00::a]:53', name: 'a.test', family: 'ipv6' },
      ],
    ],
    [
      'dual-stack, a resolver of each family: A over IPv4, AAAA over IPv6',
      ['10.96.0.10', 'fd00::a'],
      true,
      [
        { server: '10.96.0.10', name: 'a.test', family: 'ipv4' },
        { server: 'fd00::a', name: 'a.test', family: 'ipv6' },
      ],
    ],
  ];
  for (const [what, servers, dual, want] of table) t.same(dnsTargets(servers, names, [], dual), want, what);
});

/** A name of each family, and one of both. */
const FAMILY_RECORDS: ReadonlyArray<readonly [string, string]> = [
  ['four.test', '10.0.0.1'],
  ['six.test', 'fd00::1'],
  ['both.test', '10.0.0.2'],
  ['both.test', 'fd00::2'],
];

t.test('A and AAAA against a real resolver: a name of one family fails the other', async (t) => {
  const dns = await startDnsmasq(t, { address: '127.0.0.1', port: 0, records: FAMILY_RECORDS });
  const ask = async (name: string, family: 'ipv4' | 'ipv6'): Promise<unknown> => {
    const o = await probeDns({ server: dns.server, name, family }, { timeoutMs: 1000 });
    return [o.result, o.family, wireDns(o).family];
  };
  t.same(await ask('four.test', 'ipv4'), ['ok', 'ipv4', 'ipv4']);
  // No upstream: dnsmasq refuses what it has no record of; CoreDNS answers a name of the other family NOERROR, empty (ok).
  t.same(await ask('four.test', 'ipv6'), ['dns_refused', 'ipv6', 'ipv6'], 'A only: the AAAA query fails');
  t.same(await ask('six.test', 'ipv6'), ['ok', 'ipv6', 'ipv6']);
  t.same(await ask('six.test', 'ipv4'), ['dns_refused', 'ipv4', 'ipv4'], 'AAAA only: the A query fails');
  const plain = await probeDns({ server: dns.server, name: 'four.test' }, { timeoutMs: 1000 });
  t.same([plain.result, 'family' in wireDns(plain)], ['ok', false], 'no family: an A query, reported as before');
});

t.test("a dual-stack agent's DNS in the exporter's /metrics: only the failing family fails", async (t) => {
  const dns = await startDnsmasq(t, { address: '127.0.0.1', port: 0, records: FAMILY_RECORDS });
  const ex = await startTestExporter(t);
  const log = createLogger('error', {}, () => {});
  const round = async (advertise: string[], servers: string[], names: string[]): Promise<unknown> => {
    const config = { probes: { dns: { servers, names }, advertise } } as unknown as ProbeSettings;
    const probe = await dnsProbe({ config, log, assigned: { peers: [], dnsReplicas: [] } });
    return (await probe?.round({ timeoutMs: 500, signal: new AbortController().signal }))?.dns;
  };
  const post = async (agent: string, dnsQueries: unknown): Promise<void> => {
    t.equal((await postReport(ex.url, agent, report({ podname: agent, dns: dnsQueries }))).status, 200);
  };
  await post('dual', await round(['127.0.0.1', '::1'], [dns.server], ['both.test', 'four.test']));
  await post('single', await round(['127.0.0.1'], [dns.server], ['both.test', 'four.test']));
  // A resolver of each family, the IPv6 one silent (a port just freed): its path fails IPv6 alone.
  const silent = dgram.createSocket('udp6');
  await new Promise<void>((resolve) => silent.bind(0, '::1', resolve));
  const silentPort = silent.address().port;
  await new Promise<void>((resolve) => silent.close(() => resolve()));
  await post('dual-transport', await round(['127.0.0.1', '::1'], [dns.server, `[::1]:${silentPort}`], ['both.test']));
  await ex.monitor.fresh(1000);
  const text = ex.monitor.metricsText();
  const at = (agent: string, series: string, labels = ''): number | undefined =>
    sample(text, `${series}{agent="${agent}",node="node-a",network="pod"${labels}}`);
  t.equal(at('dual', 'netchecker_agent_dns_up', ',family="ipv4"'), 1, 'IPv4: both names resolve');
  t.equal(at('dual', 'netchecker_agent_dns_up', ',family="ipv6"'), 0, 'IPv6: four.test has no AAAA answer');
  t.equal(at('dual', 'netchecker_agent_dns_queries_total', ',result="refused",family="ipv6"'), 1);
  t.equal(at('dual', 'netchecker_agent_dns_queries_total', ',result="ok",family="ipv6"'), 1);
  t.equal(at('dual', 'netchecker_agent_dns_queries_total', ',result="ok",family="ipv4"'), 2);
  t.equal(at('dual', 'netchecker_agent_dns_queries_total', ',result="refused",family="ipv4"'), 0);
  t.ok((at('dual', 'netchecker_agent_dns_latency_seconds', ',family="ipv6"') ?? -1) >= 0, 'latency per family');
  t.equal(at('dual', 'netchecker_agent_dns_up'), undefined, 'no series without family for a dual-stack agent');
  t.equal(at('single', 'netchecker_agent_dns_up'), 1, 'single-stack: A queries only, no family label');
  t.notMatch(text, /agent="single"[^}]*family=/);
  t.equal(at('dual-transport', 'netchecker_agent_dns_up', ',family="ipv4"'), 1, 'A over the IPv4 resolver');
  t.equal(at('dual-transport', 'netchecker_agent_dns_up', ',family="ipv6"'), 0, 'AAAA over the silent IPv6 resolver');
  t.equal(at('dual-transport', 'netchecker_agent_dns_queries_total', ',result="timeout",family="ipv6"'), 1);
});
