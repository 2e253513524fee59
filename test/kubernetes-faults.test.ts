// Kubernetes discovery when the API misbehaves: watches that end, expired resource versions
// (410), bookmarks, an API outage, missing RBAC (403) and API errors (500, with the API's own
// message passed on without credentials). The exporter keeps serving the last known set, /readyz
// tells the truth, one log line per outage.
import t, { type Test } from 'tap';
import { ERROR_PREFIX } from '../exporter/api/check.js';
import { API_MESSAGE_MAX, apiMessage, LIST_PAGE_SIZE } from '../exporter/discovery/informer.js';
import { eventually } from './helpers/cli.js';
import { postReport, report, sample, startTestExporter } from './helpers/exporter.js';
import { agentPod, discoveryArgs, FakeKube, node } from './helpers/fake-kube.js';

/** Lists and watches of pods and nodes are counted here: the DNS Service's EndpointSlice watch is off (test/dns-replicas.test.ts has it). */
const PODS_AND_NODES_ONLY = ['--dns-service', ''];

async function check(url: string): Promise<{ status: number; text: string; names: string[] }> {
  const res = await fetch(`${url}/api/v1/connectivity_check`);
  const text = await res.text();
  const names = text.startsWith('{') ? (JSON.parse(text) as { agents: Array<{ name: string }> }).agents.map((a) => a.name) : [];
  return { status: res.status, text, names };
}

const readyz = async (url: string): Promise<number> => (await fetch(`${url}/readyz`)).status;

async function seen(url: string, name: string, present = true): Promise<void> {
  await eventually(
    async () => ((await check(url)).names.includes(name) === present ? true : undefined),
    10_000,
    `${name} ${present ? 'expected' : 'gone'}`,
  );
}

async function setup(t: Test, args: string[] = []): Promise<{ kube: FakeKube; ex: Awaited<ReturnType<typeof startTestExporter>> }> {
  const kube = await FakeKube.start(t);
  kube.apply('nodes', node('n1'));
  kube.apply('pods', agentPod('netchecker-agent-a', { node: 'n1' }), agentPod('netchecker-agent-b', { node: 'n1' }));
  const ex = await startTestExporter(t, [...discoveryArgs(kube), ...PODS_AND_NODES_ONLY, '--startup-grace', '0', ...args]);
  return { kube, ex };
}

t.test('watches that end, expire (410) or carry bookmarks are resumed; only 410 re-lists', async (t) => {
  const { kube, ex } = await setup(t);
  await seen(ex.url, 'netchecker-agent-b');
  await eventually(async () => (kube.openWatches() === 2 ? true : undefined), 10_000, 'two watches open');
  t.equal(kube.count({ verb: 'list' }), 2, 'one list per resource');

  kube.dropWatches();
  kube.apply('pods', agentPod('netchecker-agent-c', { node: 'n1' }));
  await seen(ex.url, 'netchecker-agent-c');
  t.equal(kube.count({ verb: 'list' }), 2, 'a clean end of the watch resumes from the resource version, no list');
  t.ok(kube.count({ verb: 'watch', resource: 'pods' }) >= 2, 'watched again');

  kube.expire();
  kube.remove('pods', 'netchecker-agent-a', 'netchecker');
  await seen(ex.url, 'netchecker-agent-a', false);
  t.ok(kube.count({ verb: 'list', resource: 'pods' }) >= 2, '410 Gone: listed again');

  kube.bookmark();
  kube.apply('pods', agentPod('netchecker-agent-d', { node: 'n1' }));
  await seen(ex.url, 'netchecker-agent-d');
  t.equal(await readyz(ex.url), 200);
  t.equal(ex.logs.filter((l) => l.level === 'warn' || l.level === 'error').length, 0, 'nothing here is worth a warning');
});

t.test('a paged list whose continue token expires (410) is started over, and the whole set arrives', async (t) => {
  const kube = await FakeKube.start(t);
  kube.apply('nodes', node('n1'));
  const n = 2 * LIST_PAGE_SIZE + 100;
  for (let i = 0; i < n; i++) kube.apply('pods', agentPod(`netchecker-agent-${i}`, { node: 'n1' }));
  kube.expirePages();
  const ex = await startTestExporter(t, [...discoveryArgs(kube), ...PODS_AND_NODES_ONLY, '--startup-grace', '0']);
  await eventually(async () => ((await check(ex.url)).names.length === n ? true : undefined), 15_000, `all ${n} agents expected`);
  const pods = kube.requests().filter((r) => r.verb === 'list' && r.resource === 'pods');
  t.same(
    pods.map((r) => r.status),
    [200, 410, 200, 200, 200],
    'first page, the expired second page, then the whole list again in three pages',
  );
  const warning = ex.logs.find((l) => l.msg === 'kubernetes list/watch failed; retrying with backoff');
  t.equal(
    warning?.error,
    'cannot list pods at the cluster scope: HTTP 410; the API says: The provided continue parameter is too old to display a consistent list result.',
    "one warning naming the failed list, in the API's words too",
  );
  await eventually(async () => ((await readyz(ex.url)) === 200 ? true : undefined), 10_000, '/readyz 200 once listed');
});

t.test('API down, then up: the last known set is served, readiness says not ready, one log per outage', async (t) => {
  const { kube, ex } = await setup(t);
  await seen(ex.url, 'netchecker-agent-b');
  await postReport(ex.url, 'netchecker-agent-a', report({ nodename: 'n1', report_interval: 60 }));
  const before = await check(ex.url);
  t.equal(before.status, 400);
  t.equal(await readyz(ex.url), 200);

  await kube.down();
  await eventually(async () => ((await readyz(ex.url)) === 503 ? true : undefined), 10_000, '/readyz 503');
  const ready = await fetch(`${ex.url}/readyz`);
  t.match(await ready.text(), /not ready: discovery/);
  t.equal(
    sample(await (await fetch(`${ex.url}/metrics`)).text(), 'netchecker_discovery_up'),
    0,
    'netchecker_discovery_up 0 during the outage',
  );
  kube.apply('pods', agentPod('netchecker-agent-new', { node: 'n1' }));
  kube.remove('pods', 'netchecker-agent-b', 'netchecker');
  await new Promise((r) => setTimeout(r, 2000)); // several retries
  const during = await check(ex.url);
  t.equal(during.status, 400, 'still a verdict, not a 500');
  t.same(during.names, before.names, 'the last known set');
  const warnings = ex.logs.filter((l) => l.msg === 'kubernetes list/watch failed; retrying with backoff');
  t.same(warnings.map((l) => l.resource).sort(), ['nodes', 'pods'], 'one warning per resource for the whole outage');
  t.ok(ex.logs.filter((l) => l.msg === 'kubernetes list/watch still failing').length >= 2, 'the retries are at debug level');

  await kube.up();
  await eventually(async () => ((await readyz(ex.url)) === 200 ? true : undefined), 15_000, '/readyz 200 again');
  t.equal(sample(await (await fetch(`${ex.url}/metrics`)).text(), 'netchecker_discovery_up'), 1, 'and 1 again');
  await seen(ex.url, 'netchecker-agent-new');
  await seen(ex.url, 'netchecker-agent-b', false);
  t.same(
    ex.logs
      .filter((l) => l.msg === 'kubernetes list/watch works again')
      .map((l) => l.resource)
      .sort(),
    ['nodes', 'pods'],
  );
});

t.test('API down at start: 500 and not ready until the first lists arrive', async (t) => {
  const kube = await FakeKube.start(t);
  kube.apply('nodes', node('n1'));
  kube.apply('pods', agentPod('netchecker-agent-a', { node: 'n1' }));
  await kube.down();
  const ex = await startTestExporter(t, [...discoveryArgs(kube), ...PODS_AND_NODES_ONLY, '--startup-grace', '0']);
  const c = await eventually(
    async () => {
      const now = await check(ex.url);
      return now.text.includes('ECONNREFUSED') ? now : undefined;
    },
    10_000,
    'the connection error in the check',
  );
  t.equal(c.status, 500);
  t.match(
    c.text,
    /^Error occurred while checking the agents\. Details: waiting for the first list of agent pods and nodes from the Kubernetes API: cannot list (pods|nodes) at the cluster scope: ECONNREFUSED$/,
  );
  t.equal(await readyz(ex.url), 503);
  await kube.up();
  await seen(ex.url, 'netchecker-agent-a');
  t.equal((await check(ex.url)).status, 400);
});

t.test('403: connectivity_check answers 500 naming the missing permission; recovers once granted', async (t) => {
  const kube = await FakeKube.start(t);
  kube.apply('nodes', node('n1'));
  kube.apply('pods', agentPod('netchecker-agent-a', { node: 'n1' }));
  kube.forbid('pods', 'list');
  const ex = await startTestExporter(t, [...discoveryArgs(kube), ...PODS_AND_NODES_ONLY, '--startup-grace', '0']);
  const c = await eventually(
    async () => {
      const now = await check(ex.url);
      return now.status === 500 && now.text.includes('403') ? now : undefined;
    },
    10_000,
    'a 500',
  );
  t.ok(c.text.startsWith(`${ERROR_PREFIX} `), c.text);
  t.match(
    c.text,
    /denies list pods at the cluster scope \(403 Forbidden\): the exporter's service account needs get, list and watch on pods and nodes/,
  );
  t.match(
    c.text,
    /; the API says: pods is forbidden: User "system:serviceaccount:netchecker:netchecker-exporter" cannot list resource "pods" in API group "" at the cluster scope$/,
    "the API's own message",
  );
  t.notMatch(c.text, /at .*\.ts:\d+/, 'no stack trace');
  t.equal(await readyz(ex.url), 503);
  t.equal(ex.logs.filter((l) => l.msg === 'kubernetes API denies access').length, 1, 'logged once');

  kube.allow('pods');
  await seen(ex.url, 'netchecker-agent-a');
  t.equal((await check(ex.url)).status, 400);
  await eventually(async () => ((await readyz(ex.url)) === 200 ? true : undefined), 10_000, 'ready');

  // RBAC taken away while running: the watch is refused; the check says so, not an old verdict.
  kube.forbid('pods', 'watch');
  const w = await eventually(
    async () => {
      const now = await check(ex.url);
      return now.status === 500 ? now : undefined;
    },
    10_000,
    'a 500 for watch',
  );
  t.match(w.text, /denies watch pods at the cluster scope/);
  await new Promise((r) => setTimeout(r, 1000));
  t.equal((await check(ex.url)).status, 500, 'stays 500 while the list works and the watch does not');
});

t.test('403 in one namespace names the namespace', async (t) => {
  const kube = await FakeKube.start(t);
  kube.apply('nodes', node('n1'));
  kube.forbid('pods');
  const ex = await startTestExporter(t, [...discoveryArgs(kube), ...PODS_AND_NODES_ONLY, '--namespace', 'netchecker']);
  const c = await eventually(
    async () => {
      const now = await check(ex.url);
      return now.status === 500 && now.text.includes('403') ? now : undefined;
    },
    10_000,
    'a 500',
  );
  t.match(c.text, /denies list pods in namespace netchecker/);
  t.ok(
    kube.requests().some((r) => r.resource === 'pods' && r.namespace === 'netchecker'),
    'asked in the namespace',
  );
});

t.test('API answering 503: same as an outage, the status in the log; back when it answers again', async (t) => {
  const { kube, ex } = await setup(t);
  await seen(ex.url, 'netchecker-agent-b');
  kube.failWith(503);
  await eventually(async () => ((await readyz(ex.url)) === 503 ? true : undefined), 10_000, '/readyz 503');
  t.equal((await check(ex.url)).status, 400, 'the last known set still answers');
  const warning = ex.logs.find((l) => l.msg === 'kubernetes list/watch failed; retrying with backoff');
  t.match(warning?.error, /cannot (list|watch) (pods|nodes) at the cluster scope: HTTP 503/);
  kube.failWith(null);
  await eventually(async () => ((await readyz(ex.url)) === 200 ? true : undefined), 10_000, '/readyz 200');
});

t.test("500 from the API at start: the check's 500 carries the API's message, bounded, without credentials", async (t) => {
  const kube = await FakeKube.start(t);
  kube.apply('nodes', node('n1'));
  const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
  kube.failWith(500, `etcdserver: request timed out\n(Authorization: Bearer ${token}, token=s3cr3t-value) ${'x'.repeat(2000)}`);
  const ex = await startTestExporter(t, [...discoveryArgs(kube), ...PODS_AND_NODES_ONLY, '--startup-grace', '0']);
  const c = await eventually(
    async () => {
      const now = await check(ex.url);
      return now.status === 500 && now.text.includes('HTTP 500') ? now : undefined;
    },
    10_000,
    'a 500 naming the HTTP status',
  );
  t.match(
    c.text,
    /^Error occurred while checking the agents\. Details: waiting for the first list of agent pods and nodes from the Kubernetes API: cannot list (pods|nodes) at the cluster scope: HTTP 500; the API says: etcdserver: request timed out \(Authorization: \[redacted\], token=\[redacted\]\) x+\.\.\.$/,
  );
  t.notMatch(c.text, /eyJ|s3cr3t|Bearer/, 'no credentials');
  t.ok(c.text.length < 1000, `bounded: ${c.text.length} characters`);
  kube.failWith(null);
  await eventually(async () => ((await check(ex.url)).status === 200 ? true : undefined), 10_000, 'a verdict once the API answers');
});

t.test('apiMessage: the Status message, one line, bounded, credentials redacted', async (t) => {
  const table: Array<[unknown, string]> = [
    [
      { kind: 'Status', message: 'pods is forbidden: User "x" cannot list resource "pods"' },
      'pods is forbidden: User "x" cannot list resource "pods"',
    ],
    ['{"kind":"Status","message":"etcdserver: leader changed"}', 'etcdserver: leader changed'],
    ['<html>bad gateway</html>', ''],
    [undefined, ''],
    [{ message: 42 }, ''],
    [{ message: 'a\nb\tc' }, 'a b c'],
    [{ message: 'header Authorization: Bearer abcdefghijklmnop was refused' }, 'header Authorization: [redacted] was refused'],
    [{ message: 'got bearer abcdefghijklmnop' }, 'got bearer [redacted]'],
    [{ message: 'password="hunter22", api_key=xyz' }, 'password="[redacted]", api_key=[redacted]'],
    [{ message: 'jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln end' }, 'jwt [redacted] end'],
    [{ message: 'invalid token format' }, 'invalid token format'],
  ];
  for (const [body, want] of table) t.equal(apiMessage(body), want, JSON.stringify(body));
  t.equal(apiMessage({ message: 'y'.repeat(5000) }).length, API_MESSAGE_MAX);
});
