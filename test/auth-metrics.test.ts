// --metrics-auth kubernetes: /metrics only for a token that passes a TokenReview and a
// SubjectAccessReview for get on /metrics (as kube-rbac-proxy); decisions cached per token.
import t from 'tap';
import { sample, startTestExporter } from './helpers/exporter.js';
import { FakeKube } from './helpers/fake-kube.js';
import { TokenIssuer } from './helpers/tokens.js';

const PROMETHEUS = 'system:serviceaccount:monitoring:prometheus-k8s';

async function scrape(url: string, token?: string): Promise<{ status: number; error: string | undefined; text: string }> {
  const res = await fetch(`${url}/metrics`, { headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, error: res.status === 200 ? undefined : (JSON.parse(text) as { error: string }).error, text };
}

t.test('allowed, denied, no token, bad token; cached; the API refusing reviews', async (t) => {
  const kube = await FakeKube.start(t);
  const tokens = new TokenIssuer(kube);
  const sars: Array<Record<string, unknown>> = [];
  let sarAnswer: number | null = null;
  kube.subjectAccessReview = (spec) => {
    sars.push(spec);
    if (sarAnswer !== null) return sarAnswer;
    const attrs = spec.nonResourceAttributes as { path?: string; verb?: string } | undefined;
    return { allowed: spec.user === PROMETHEUS && attrs?.path === '/metrics' && attrs.verb === 'get' };
  };
  // --metrics-auth works with any discovery: it only needs a kubeconfig.
  const ex = await startTestExporter(t, ['--metrics-auth', 'kubernetes', '--kubeconfig', kube.kubeconfigPath]);
  const prometheus = tokens.issue({ username: PROMETHEUS, audiences: ['https://kubernetes.default.svc'] });

  const ok = await scrape(ex.url, prometheus);
  t.equal(ok.status, 200, 'Prometheus may scrape');
  t.match(ok.text, /^netchecker_build_info\{/m);
  t.same(
    sars[0],
    {
      user: PROMETHEUS,
      groups: ['system:serviceaccounts', 'system:serviceaccounts:netchecker', 'system:authenticated'],
      uid: 'sa-uid-system:serviceaccount:monitoring:prometheus-k8s',
      extra: {},
      nonResourceAttributes: { path: '/metrics', verb: 'get' },
    },
    'the SubjectAccessReview asks for get on /metrics as that user',
  );
  for (let i = 0; i < 3; i++) t.equal((await scrape(ex.url, prometheus)).status, 200);
  t.same(
    [kube.count({ verb: 'tokenreview' }), kube.count({ verb: 'subjectaccessreview' })],
    [1, 1],
    'four scrapes, one review of each kind',
  );

  t.same((await scrape(ex.url)).status, 401, 'no token');
  t.same((await scrape(ex.url)).error, 'auth_missing');
  t.same(await scrape(ex.url, 'abc').then((r) => [r.status, r.error]), [401, 'auth_malformed']);
  t.same(
    await scrape(ex.url, tokens.issue({ authenticated: false })).then((r) => [r.status, r.error]),
    [401, 'auth_invalid'],
    'a token the API does not know',
  );
  t.same(
    await scrape(ex.url, tokens.issue({ username: 'system:serviceaccount:default:nosy' })).then((r) => [r.status, r.error]),
    [403, 'metrics_forbidden'],
    'authenticated but not allowed',
  );

  sarAnswer = 403;
  t.same(
    await scrape(ex.url, tokens.issue({ username: 'system:serviceaccount:monitoring:other' })).then((r) => [r.status, r.error]),
    [503, 'auth_review_forbidden'],
    'the exporter may not create SubjectAccessReviews',
  );
  t.equal((await scrape(ex.url, prometheus)).status, 200, 'a cached decision stays');

  t.equal((await fetch(`${ex.url}/api/v1/connectivity_check`)).status, 200, 'the API stays open');
  const metrics = (await scrape(ex.url, prometheus)).text;
  t.equal(
    sample(metrics, 'netchecker_reports_rejected_total{reason="auth_missing"}'),
    0,
    'scrapes are not reports: not counted as rejected reports',
  );
});
