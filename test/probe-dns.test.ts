// DNS probe against a real dnsmasq on loopback: result classes kept apart, latency measured,
// TCP fallback on truncation, timeouts when the resolver is gone; resolv.conf and rcode tables.
import t from 'tap';
import { classifyRcode } from '../agent/probes/classify.js';
import { dnsTargets, parseResolvConf, parseResolver, probeDns, wireDns } from '../agent/probes/dns.js';
import type { ResultClass } from '../report/schema.js';
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
