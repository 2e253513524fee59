// The fake Kubernetes API's custom resources, spoken to over plain HTTP as the real API server is:
// create, get, update and merge patch with resourceVersion preconditions (409), delete, list in
// pages, and watch with events, bookmarks and 410 after a compaction.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { FakeKube } from './helpers/fake-kube.js';

const BASE = '/apis/example.io/v1/namespaces/ns1/widgets';

t.test('custom resources: the verbs and their conflicts', async (t) => {
  const kube = await FakeKube.start(t);
  const token = (JSON.parse(readFileSync(kube.kubeconfigPath, 'utf8')) as { users: Array<{ user: { token: string } }> }).users[0]?.user
    .token;
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    type = 'application/json',
  ): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${kube.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': type },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const rv = (o: Record<string, unknown>): string => String((o.metadata as { resourceVersion?: string }).resourceVersion);
  const widget = (name: string, size: number): Record<string, unknown> => ({
    apiVersion: 'example.io/v1',
    kind: 'Widget',
    metadata: { name },
    spec: { size },
  });

  const created = await call('POST', BASE, widget('w1', 1));
  t.equal(created.status, 201, 'create');
  t.equal((await call('POST', BASE, widget('w1', 1))).status, 409, 'create again: 409 AlreadyExists');
  t.equal((await call('GET', `${BASE}/nope`)).status, 404, 'get of an unknown object: 404');
  const got = await call('GET', `${BASE}/w1`);
  t.same([got.status, (got.body.spec as { size: number }).size, got.body.kind], [200, 1, 'Widget'], 'get');
  const updated = await call('PUT', `${BASE}/w1`, { ...widget('w1', 2), metadata: { name: 'w1', resourceVersion: rv(got.body) } });
  t.equal(updated.status, 200, 'update at the current resourceVersion');
  t.not(rv(updated.body), rv(got.body), 'a new resourceVersion');
  const stale = await call('PUT', `${BASE}/w1`, { ...widget('w1', 3), metadata: { name: 'w1', resourceVersion: rv(got.body) } });
  t.same([stale.status, stale.body.reason], [409, 'Conflict'], 'update at a stale resourceVersion: 409 Conflict');
  const patched = await call('PATCH', `${BASE}/w1`, { spec: { color: 'red' } }, 'application/merge-patch+json');
  t.same([patched.status, patched.body.spec], [200, { size: 2, color: 'red' }], 'merge patch');
  t.equal(
    (await call('PATCH', `${BASE}/w1`, { metadata: { resourceVersion: rv(got.body) }, spec: { size: 9 } }, 'application/merge-patch+json'))
      .status,
    409,
    'patch with a stale resourceVersion: 409',
  );
  t.equal(kube.count({ verb: 'update', resource: 'widgets', status: 409 }), 1, 'counted by verb, plural and status');

  for (let i = 2; i <= 5; i++) t.equal((await call('POST', BASE, widget(`w${i}`, i))).status, 201);
  const page1 = await call('GET', `${BASE}?limit=2`);
  const token1 = (page1.body.metadata as { continue?: string }).continue;
  t.same(
    [(page1.body.items as unknown[]).length, page1.body.kind, typeof token1],
    [2, 'WidgetList', 'string'],
    'a first page and a continue token',
  );
  const rest = await call('GET', `${BASE}?limit=10&continue=${token1}`);
  t.equal((rest.body.items as unknown[]).length, 3, 'the rest of the same snapshot');
  t.equal((await call('DELETE', `${BASE}/w5`)).status, 200, 'delete');
  t.equal((await call('GET', `${BASE}/w5`)).status, 404, 'gone');

  // Watch from the list's version: the changes after it, a bookmark, then 410 after a compaction.
  const from = rv((await call('GET', BASE)).body);
  const res = await fetch(`${kube.url}${BASE}?watch=true&resourceVersion=${from}&allowWatchBookmarks=true`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  const events = async (n: number): Promise<Array<{ type: string; object: Record<string, unknown> }>> => {
    while (text.split('\n').filter(Boolean).length < n) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; object: Record<string, unknown> });
  };
  t.equal((await call('POST', BASE, widget('w6', 6))).status, 201);
  kube.bookmark();
  kube.expire();
  const seen = await events(3);
  t.same(
    seen.map((e) => e.type),
    ['ADDED', 'BOOKMARK', 'ERROR'],
    'an event, a bookmark, then the 410',
  );
  t.equal((seen[1]?.object.kind as string) ?? '', 'Widget', 'the bookmark names the kind');
  t.equal(seen[2]?.object.code, 410);
  await reader.cancel();
  const old = await fetch(`${kube.url}${BASE}?watch=true&resourceVersion=${from}`, { headers: { Authorization: `Bearer ${token}` } });
  t.match(await old.text(), /"type":"ERROR".*"code":410/, 'a watch from before the compaction: 410');
});
