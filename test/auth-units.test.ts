// The pure parts of report authentication, as tables: the Authorization header, the JWT expiry,
// the review status -> identity, the binding of a report to its pod, the token bucket, the cache.
import t from 'tap';
import { jwtExpiry, parseBearer } from '../exporter/auth/bearer.js';
import { checkBinding, identityOf, podBinding, type PodIdentity } from '../exporter/auth/binding.js';
import { ExpiringCache, tokenKey } from '../exporter/auth/cache.js';
import { TokenBucket } from '../exporter/auth/rate.js';
import { TokenReviewer } from '../exporter/auth/reviewer.js';
import type { ReviewClient } from '../exporter/auth/tokenreview.js';
import { createLogger } from '../lib/log.js';
import { decodeReport } from '../report/decode.js';
import type { Report } from '../report/schema.js';

const jwt = (payload: unknown): string => `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.c2ln`;

t.test('parseBearer', async (t) => {
  const cases: Array<[string | undefined, unknown]> = [
    [undefined, { ok: false, code: 'auth_missing' }],
    ['', { ok: false, code: 'auth_missing' }],
    ['Bearer abc.def-_~+/=', { ok: true, token: 'abc.def-_~+/=' }],
    ['bEaReR abc', { ok: true, token: 'abc' }],
    ['Bearer', { ok: false, code: 'auth_malformed' }],
    ['Bearer ', { ok: false, code: 'auth_malformed' }],
    ['Bearer  abc', { ok: false, code: 'auth_malformed' }],
    ['Bearer a b', { ok: false, code: 'auth_malformed' }],
    ['Basic YWxhZGRpbjpvcGVu', { ok: false, code: 'auth_malformed' }],
    [`Bearer ${'a'.repeat(20_000)}`, { ok: false, code: 'auth_malformed' }],
  ];
  for (const [header, want] of cases) t.same(parseBearer(header), want, String(header).slice(0, 40));
});

t.test('jwtExpiry: exp read without verification; not a JWT is null', async (t) => {
  t.same(jwtExpiry(jwt({ exp: 1_800_000_000 })), { expMs: 1_800_000_000_000 });
  t.same(jwtExpiry(jwt({ sub: 'x' })), { expMs: null });
  t.same(jwtExpiry(jwt({ exp: '1800000000' })), { expMs: null }, 'exp must be a number');
  t.equal(jwtExpiry('abc'), null);
  t.equal(jwtExpiry('a.b'), null);
  t.equal(jwtExpiry('a.!!.c'), null);
  t.equal(jwtExpiry(`a.${Buffer.from('[1]').toString('base64url')}.c`), null, 'payload must be an object');
  t.equal(jwtExpiry(`a.${Buffer.from('{').toString('base64url')}.c`), null, 'payload must be JSON');
});

const SA = 'system:serviceaccount:netchecker:netchecker-agent';
const bound = (extra: Record<string, string[]> = {}) => ({
  authenticated: true,
  audiences: ['netchecker'],
  user: {
    username: SA,
    extra: { 'authentication.kubernetes.io/pod-name': ['p1'], 'authentication.kubernetes.io/pod-uid': ['u1'], ...extra },
  },
});

t.test('identityOf: review status -> identity or the refusal', async (t) => {
  const code = (s: Parameters<typeof identityOf>[0]): string => {
    const r = identityOf(s, 'netchecker');
    return r.ok ? 'ok' : r.code;
  };
  t.equal(code({ authenticated: false }), 'auth_invalid');
  t.equal(code({ ...bound(), audiences: ['api'] }), 'auth_audience');
  t.equal(code({ ...bound(), audiences: [] }), 'auth_audience');
  t.equal(code({ authenticated: true, audiences: ['netchecker'], user: { username: 'alice' } }), 'auth_not_service_account');
  t.equal(code({ authenticated: true, audiences: ['netchecker'], user: { username: 'system:node:n1' } }), 'auth_not_service_account');
  t.equal(code({ authenticated: true, audiences: ['netchecker'], user: { username: SA } }), 'auth_not_bound');
  t.same(identityOf(bound({ 'authentication.kubernetes.io/node-name': ['n1'] }), 'netchecker'), {
    ok: true,
    identity: { namespace: 'netchecker', serviceAccount: 'netchecker-agent', podName: 'p1', podUid: 'u1', nodeName: 'n1' },
  });
});

t.test('checkBinding: the report must be the pod own', async (t) => {
  const id: PodIdentity = { namespace: 'netchecker', serviceAccount: 'netchecker-agent', podName: 'p1', podUid: 'u1', nodeName: 'n1' };
  const pod = podBinding({
    metadata: { uid: 'u1' },
    spec: { nodeName: 'n1', hostNetwork: false },
    status: { podIP: '10.1.0.5', podIPs: [{ ip: '10.1.0.5' }, { ip: 'fd00::5' }] },
  });
  const rep = (fields: Record<string, unknown>): Report => {
    const d = decodeReport(
      JSON.stringify({ report_interval: 5, podname: 'p1', nodename: 'n1', hostdate: '2026-11-26T10:00:00Z', ...fields }),
    );
    if (!d.ok) throw new Error(d.code);
    return d.value;
  };
  const code = (name: string, r: Report, p = pod as typeof pod | undefined, i = id): string | null =>
    checkBinding(i, name, r, p)?.code ?? null;
  t.equal(code('p1', rep({})), null);
  t.equal(code('p1', rep({ nodename: '' })), null, 'empty nodename (the original agent)');
  t.equal(code('p1', rep({ network: 'pod' })), null);
  t.equal(code('p2', rep({})), 'auth_name_mismatch');
  t.equal(code('p1', rep({ podname: 'p2' })), 'auth_name_mismatch');
  t.equal(checkBinding(id, 'p1', rep({}), undefined)?.code, 'auth_pod_unknown');
  t.equal(code('p1', rep({}), { ...pod, uid: 'u0' }), 'auth_stale_pod');
  t.equal(code('p1', rep({}), pod, { ...id, nodeName: 'n2' }), 'auth_node_mismatch');
  t.equal(code('p1', rep({}), pod, { ...id, nodeName: null }), null, 'no node-name extra (before 1.30)');
  t.equal(code('p1', rep({ nodename: 'n2' })), 'auth_node_mismatch');
  t.equal(code('p1', rep({ network: 'host' })), 'auth_network_mismatch');
  t.equal(code('p1', rep({ listen: '10.1.0.5:8090' })), null, 'listen on the pod IP');
  t.equal(code('p1', rep({ listen: '[fd00::5]:8090' })), null, 'listen on the pod IPv6');
  t.equal(code('p1', rep({ listen: '10.1.0.6:8090' })), 'auth_listen_mismatch', 'listen on another IP');
  t.equal(code('p1', rep({ listen: '10.1.0.5:8090' }), { ...pod, addresses: [] }), 'auth_pod_unknown', 'pod IP not known yet: retried');
  t.equal(checkBinding(id, 'p1', rep({ listen: '10.9.0.1:8090' }), pod, [{ ip: [10, 9, 0, 0], bits: 16 }]), null, '--peer-cidrs widens it');
  t.same(
    podBinding({
      metadata: { uid: 'u' },
      spec: { hostNetwork: true },
      status: { podIP: '192.0.2.1', hostIP: '192.0.2.1', hostIPs: [{ ip: '192.0.2.1' }, { ip: '2001:db8::1' }] },
    }),
    {
      uid: 'u',
      nodeName: '',
      network: 'host',
      addresses: ['192.0.2.1', '2001:db8::1'],
    },
    'a hostNetwork pod owns the node IPs',
  );
  t.same(podBinding(null), { uid: '', nodeName: '', network: 'pod', addresses: [] });
});

t.test('TokenBucket: burst, then the rate', async (t) => {
  const b = new TokenBucket(2, 3, 0);
  t.same([b.take(0), b.take(0), b.take(0), b.take(0)], [true, true, true, false]);
  t.same([b.take(499), b.take(500), b.take(501)], [false, true, false], 'one per 500 ms at 2/s');
  t.same([b.take(10_000), b.take(10_000), b.take(10_000), b.take(10_000)], [true, true, true, false], 'refills to the burst, not beyond');
  t.equal(new TokenBucket(1, 1, 1000).take(0), true, 'a clock going back takes nothing away');
});

t.test('ExpiringCache: until expiry, bounded, oldest out; keys are hashes', async (t) => {
  const c = new ExpiringCache<string>(2);
  c.set('a', 'A', 100);
  c.set('b', 'B', 1000);
  t.same([c.get('a', 99), c.get('a', 100)], ['A', undefined], 'expired at its time');
  c.set('a', 'A', 1000);
  c.set('c', 'C', 1000);
  t.same([c.get('b', 0), c.get('a', 0), c.get('c', 0), c.size], [undefined, 'A', 'C', 2], 'the oldest went');
  t.equal(tokenKey('secret-token').length, 44);
  t.notMatch(tokenKey('secret-token'), /secret/);
});

t.test('TokenReviewer: a step of the wall clock refuses nothing; cached reviews live on the monotonic clock', async (t) => {
  const clock = { mono: 0, wall: Date.parse('2026-11-26T12:00:00Z') };
  let reviews = 0;
  // The API server's side of the review (the one part not run for real here): it always accepts.
  const client = {
    tokenReview: async () => ((reviews += 1), { ok: true as const, value: { authenticated: true } }),
  } as unknown as ReviewClient;
  const reviewer = new TokenReviewer<string>({
    client,
    audiences: ['netchecker'],
    interpret: () => ({ ok: true, value: 'agent' }),
    ratePerSecond: 1,
    burst: 1,
    cacheSize: 10,
    maxTtlMs: 24 * 3600_000,
    clock: { monoMs: () => clock.mono, wallMs: () => clock.wall },
    log: createLogger('error'),
  });
  const token = jwt({ exp: (clock.wall + 3600_000) / 1000 });
  const check = async (): Promise<boolean> => (await reviewer.check(token)).ok;
  t.ok(await check(), 'reviewed and accepted');
  clock.wall += 2 * 3600_000; // the exporter's clock jumps past the token's exp
  t.ok(await check(), 'still accepted from the cache after the step');
  t.equal(reviews, 1, 'no review for a cached token');
  clock.mono += 3600_000 + 1; // the hour the review was kept for, on the monotonic clock
  t.ok(await check(), 'after that hour: reviewed again and accepted (the API server decides expiry)');
  t.equal(reviews, 2);
  clock.mono += 59_000;
  t.ok(await check(), 'kept at least 60 s although this clock says it expired');
  t.equal(reviews, 2);
});
