// --auth kubernetes against the fake API server's TokenReview: every way a report can be refused,
// each with its exact status and error code, nothing stored, and the rejected counter by reason;
// a valid token is reviewed once and then served from the cache.
import t, { type Test } from 'tap';
import { eventually } from './helpers/cli.js';
import { postReport, report, sample, startTestExporter, type TestExporter } from './helpers/exporter.js';
import { agentPod, discoveryArgs, FakeKube, node } from './helpers/fake-kube.js';
import { TokenIssuer } from './helpers/tokens.js';

const POD = 'netchecker-agent-a1';
const HOSTNET = 'netchecker-agent-hostnet-a1';

async function setup(t: Test, extraArgs: string[] = []): Promise<{ kube: FakeKube; tokens: TokenIssuer; ex: TestExporter }> {
  const kube = await FakeKube.start(t);
  kube.apply('nodes', node('n1'), node('n2'));
  kube.apply('pods', agentPod(POD, { node: 'n1' }), agentPod(HOSTNET, { node: 'n1', hostNetwork: true }));
  const tokens = new TokenIssuer(kube);
  const ex = await startTestExporter(t, [...discoveryArgs(kube), '--auth', 'kubernetes', ...extraArgs]);
  await eventually(async () => ((await fetch(`${ex.url}/readyz`)).status === 200 ? true : undefined), 10_000, 'the pod informer');
  return { kube, tokens, ex };
}

/** Our agent's report for the pod: its name, node and network. */
const body = (name: string, nodeName = 'n1', network: 'pod' | 'host' = 'pod'): string =>
  report({ podname: name, nodename: nodeName, network, report_interval: 60 });

async function post(
  url: string,
  name: string,
  auth: string | undefined,
  b = body(name),
): Promise<{ status: number; error: string; headers: Headers }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', ...(auth === undefined ? {} : { Authorization: auth }) };
  const res = await postReport(url, name, b, headers);
  const text = await res.text();
  return { status: res.status, error: text ? ((JSON.parse(text) as { error: string }).error ?? '') : '', headers: res.headers };
}

const rejected = async (url: string, reason: string): Promise<number> =>
  sample(await (await fetch(`${url}/metrics`)).text(), `netchecker_reports_rejected_total{reason="${reason}"}`) ?? NaN;
const stored = async (url: string, name: string): Promise<number> => (await fetch(`${url}/api/v1/agents/${name}`)).status;

interface Case {
  what: string;
  status: number;
  error: string;
  /** Returns the URL name and the Authorization header to send, and optionally the body. */
  make: (ctx: { kube: FakeKube; tokens: TokenIssuer }) => { name: string; auth: string | undefined; body?: string; also?: string[] };
}

const CASES: Case[] = [
  { what: 'no token', status: 401, error: 'auth_missing', make: () => ({ name: POD, auth: undefined }) },
  { what: 'malformed header', status: 401, error: 'auth_malformed', make: () => ({ name: POD, auth: 'Bearer not a token!' }) },
  { what: 'another scheme', status: 401, error: 'auth_malformed', make: () => ({ name: POD, auth: 'Basic bmV0Y2hlY2tlcg==' }) },
  { what: 'not a JWT', status: 401, error: 'auth_malformed', make: () => ({ name: POD, auth: 'Bearer abcdef' }) },
  {
    what: 'unknown token (review says unauthenticated)',
    status: 401,
    error: 'auth_invalid',
    make: ({ tokens }) => ({ name: POD, auth: `Bearer ${tokens.issue({ authenticated: false })}` }),
  },
  {
    what: 'expired token (the API server refuses it)',
    status: 401,
    error: 'auth_invalid',
    make: ({ kube, tokens }) => ({ name: POD, auth: `Bearer ${tokens.agent(kube, POD, { expiresInSeconds: -5 })}` }),
  },
  {
    what: 'wrong audience',
    status: 401,
    error: 'auth_audience',
    make: ({ kube, tokens }) => ({
      name: POD,
      auth: `Bearer ${tokens.agent(kube, POD, { audiences: ['https://kubernetes.default.svc'] })}`,
    }),
  },
  {
    what: 'empty audiences',
    status: 401,
    error: 'auth_audience',
    make: ({ kube, tokens }) => ({ name: POD, auth: `Bearer ${tokens.agent(kube, POD, { audiences: [] })}` }),
  },
  {
    what: 'not a service account',
    status: 403,
    error: 'auth_not_service_account',
    make: ({ tokens }) => ({ name: POD, auth: `Bearer ${tokens.issue({ username: 'alice', groups: ['system:authenticated'] })}` }),
  },
  {
    what: 'token not bound to a pod',
    status: 403,
    error: 'auth_not_bound',
    make: ({ tokens }) => ({ name: POD, auth: `Bearer ${tokens.issue({ pod: null })}` }),
  },
  {
    what: 'URL name differs from the token pod',
    status: 403,
    error: 'auth_name_mismatch',
    make: ({ kube, tokens }) => ({
      name: 'netchecker-agent-b2',
      auth: `Bearer ${tokens.agent(kube, POD)}`,
      body: body('netchecker-agent-b2'),
    }),
  },
  {
    what: 'podname in the report differs from the token pod',
    status: 403,
    error: 'auth_name_mismatch',
    make: ({ kube, tokens }) => ({ name: POD, auth: `Bearer ${tokens.agent(kube, POD)}`, body: body('netchecker-agent-b2') }),
  },
  {
    what: 'nodename differs from the pod node',
    status: 403,
    error: 'auth_node_mismatch',
    make: ({ kube, tokens }) => ({ name: POD, auth: `Bearer ${tokens.agent(kube, POD)}`, body: body(POD, 'n2') }),
  },
  {
    what: 'stale pod UID (a pod of the same name before)',
    status: 403,
    error: 'auth_stale_pod',
    make: ({ tokens }) => ({ name: POD, auth: `Bearer ${tokens.issue({ pod: { name: POD, uid: 'uid-of-a-deleted-pod' }, node: 'n1' })}` }),
  },
  {
    what: "pod-network agent claiming the hostnet agent's name",
    status: 403,
    error: 'auth_name_mismatch',
    make: ({ kube, tokens }) => ({ name: HOSTNET, auth: `Bearer ${tokens.agent(kube, POD)}`, body: body(HOSTNET, 'n1', 'host') }),
  },
  {
    what: 'pod-network agent claiming the host network',
    status: 403,
    error: 'auth_network_mismatch',
    make: ({ kube, tokens }) => ({ name: POD, auth: `Bearer ${tokens.agent(kube, POD)}`, body: body(POD, 'n1', 'host') }),
  },
  {
    what: 'node-name extra differs from the pod node',
    status: 403,
    error: 'auth_node_mismatch',
    make: ({ kube, tokens }) => ({ name: POD, auth: `Bearer ${tokens.agent(kube, POD, { node: 'n2' })}` }),
  },
  {
    what: 'review forbidden (exporter lacks RBAC)',
    status: 503,
    error: 'auth_review_forbidden',
    make: ({ kube, tokens }) => ({ name: POD, auth: `Bearer ${tokens.agent(kube, POD, { review: () => 403 })}` }),
  },
  {
    what: 'review timeout',
    status: 503,
    error: 'auth_unavailable',
    make: ({ kube, tokens }) => ({
      name: POD,
      auth: `Bearer ${tokens.agent(kube, POD, { review: (s) => new Promise((r) => setTimeout(() => r(s), 3000)) })}`,
    }),
  },
  {
    what: 'review answers 500',
    status: 503,
    error: 'auth_unavailable',
    make: ({ kube, tokens }) => ({ name: POD, auth: `Bearer ${tokens.agent(kube, POD, { review: () => 500 })}` }),
  },
  {
    what: 'pod not yet in the informer',
    status: 503,
    error: 'auth_pod_unknown',
    make: ({ tokens }) => ({
      name: 'netchecker-agent-new',
      auth: `Bearer ${tokens.issue({ pod: { name: 'netchecker-agent-new', uid: 'uid-new' }, node: 'n2' })}`,
      body: body('netchecker-agent-new', 'n2'),
    }),
  },
];

t.test('every refusal: exact status and code, nothing stored, counted by reason', async (t) => {
  const { kube, tokens, ex } = await setup(t, ['--auth-review-timeout', '0.5']);
  for (const c of CASES) {
    const m = c.make({ kube, tokens });
    const before = await rejected(ex.url, c.error);
    const reviews = kube.count({ verb: 'tokenreview' });
    const r = await post(ex.url, m.name, m.auth, m.body);
    t.same([r.status, r.error], [c.status, c.error], c.what);
    t.equal(await rejected(ex.url, c.error), before + 1, `${c.what}: counted as ${c.error}`);
    for (const name of new Set([m.name, POD, HOSTNET])) t.equal(await stored(ex.url, name), 404, `${c.what}: nothing stored for ${name}`);
    if (c.status === 401) t.equal(r.headers.get('www-authenticate'), 'Bearer realm="netchecker"', `${c.what}: 401 carries the challenge`);
    if (c.status === 503) t.equal(r.headers.get('retry-after'), '1', `${c.what}: 503 says when to retry`);
    if (['auth_missing', 'auth_malformed'].includes(c.error)) t.equal(kube.count({ verb: 'tokenreview' }), reviews, `${c.what}: no review`);
  }
});

t.test('a valid token: 200, stored, reviewed once; the pod that appears later is accepted', async (t) => {
  const { kube, tokens, ex } = await setup(t);
  const tok = tokens.agent(kube, POD);
  for (let i = 0; i < 5; i++) t.equal((await post(ex.url, POD, `Bearer ${tok}`)).status, 200);
  t.equal(kube.count({ verb: 'tokenreview' }), 1, 'five reports, one review');
  t.equal(await stored(ex.url, POD), 200);
  const host = tokens.agent(kube, HOSTNET);
  t.equal(
    (await post(ex.url, HOSTNET, `bearer ${host}`, body(HOSTNET, 'n1', 'host'))).status,
    200,
    'the hostnet agent as itself (scheme in any case)',
  );
  // The original agent sends no network and may send no nodename: both are fine when the token binds.
  t.equal(
    (await post(ex.url, HOSTNET, `Bearer ${host}`, report({ podname: HOSTNET, nodename: '' }))).status,
    200,
    'empty nodename, no network',
  );

  const fresh = tokens.agent(kube, POD);
  const together = await Promise.all(Array.from({ length: 50 }, () => post(ex.url, POD, `Bearer ${fresh}`)));
  t.same([...new Set(together.map((r) => r.status))], [200], '50 reports at once with a new token');
  t.equal(kube.count({ verb: 'tokenreview' }), 3, 'share one review (the third token reviewed)');

  const late = tokens.issue({ pod: { name: 'netchecker-agent-b2', uid: 'uid-b2' }, node: 'n2' });
  t.equal(
    (await post(ex.url, 'netchecker-agent-b2', `Bearer ${late}`, body('netchecker-agent-b2', 'n2'))).status,
    503,
    'not in the informer yet',
  );
  const pod = agentPod('netchecker-agent-b2', { node: 'n2' });
  pod.metadata.uid = 'uid-b2';
  kube.apply('pods', pod);
  await eventually(
    async () =>
      (await post(ex.url, 'netchecker-agent-b2', `Bearer ${late}`, body('netchecker-agent-b2', 'n2'))).status === 200 ? true : undefined,
    10_000,
    'the new pod accepted',
  );
  t.equal(kube.count({ verb: 'tokenreview' }), 4, 'the late token too was reviewed once');

  kube.remove('pods', POD, 'netchecker');
  kube.apply('pods', agentPod(POD, { node: 'n1' })); // recreated: a new uid
  const stale = await eventually(
    async () => {
      const r = await post(ex.url, POD, `Bearer ${tok}`);
      return r.status === 403 ? r : undefined;
    },
    10_000,
    'the old pod token refused',
  );
  t.equal(stale.error, 'auth_stale_pod', 'a cached review still binds to the current pod');
});

t.test('unknown tokens beyond the review rate get 429 and never reach the API; API down is 503', async (t) => {
  const { kube, tokens, ex } = await setup(t, ['--auth-review-rate', '0.1', '--auth-review-burst', '2']);
  const statuses: Array<[number, string]> = [];
  for (let i = 0; i < 5; i++) {
    const r = await post(ex.url, POD, `Bearer ${tokens.issue({ authenticated: false })}`);
    statuses.push([r.status, r.error]);
  }
  t.same(statuses, [
    [401, 'auth_invalid'],
    [401, 'auth_invalid'],
    [429, 'auth_rate_limited'],
    [429, 'auth_rate_limited'],
    [429, 'auth_rate_limited'],
  ]);
  t.equal(kube.count({ verb: 'tokenreview' }), 2, 'two reviews: the burst');
  t.equal(await rejected(ex.url, 'auth_rate_limited'), 3);
  t.equal(await stored(ex.url, POD), 404);

  const again = await post(ex.url, POD, `Bearer ${tokens.issue({ authenticated: false })}`);
  t.equal(again.status, 429, 'still limited');
  t.equal(kube.count({ verb: 'tokenreview' }), 2);
});

t.test('API unavailable: 503 auth_unavailable; a cached token keeps working', async (t) => {
  const { kube, tokens, ex } = await setup(t, ['--auth-review-timeout', '1']);
  const tok = tokens.agent(kube, POD);
  t.equal((await post(ex.url, POD, `Bearer ${tok}`)).status, 200);
  await kube.down();
  const r = await post(ex.url, HOSTNET, `Bearer ${tokens.agent(kube, HOSTNET)}`, body(HOSTNET, 'n1', 'host'));
  t.same([r.status, r.error], [503, 'auth_unavailable']);
  t.equal(await stored(ex.url, HOSTNET), 404);
  t.equal((await post(ex.url, POD, `Bearer ${tok}`)).status, 200, 'the reviewed token needs no API');
  t.ok(
    ex.logs.some((l) => l.msg === 'token review failed; new tokens get 503 until it works'),
    'logged once',
  );
});

t.test('--auth kubernetes needs --discovery kubernetes; --auth token needs its file', async (t) => {
  const { parseExporterConfig } = await import('../exporter/config.js');
  const err = (args: string[]): string => {
    const r = parseExporterConfig(args);
    return r.ok ? 'ok' : r.error;
  };
  t.match(err(['--auth', 'kubernetes']), /--auth kubernetes needs --discovery kubernetes/);
  t.match(err(['--auth', 'token']), /--auth token needs --auth-token-file/);
  t.match(err(['--auth', 'yes']), /--auth must be one of none, token, kubernetes/);
  t.match(err(['--metrics-auth', 'token']), /--metrics-auth must be one of none, kubernetes/);
  t.match(err(['--auth-review-rate', '0']), /--auth-review-rate must be a number from 0.1/);
  t.equal(err([]), 'ok', 'none by default');
});
