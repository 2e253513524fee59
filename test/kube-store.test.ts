// The Kubernetes store's invariants against the fake API: an exporter restart, a second replica, an
// agent switching replicas and a rolling restart of two call no live agent absent or outdated, two
// writers converge on the newer record (a 409 is merged on fresh state), an API outage gets the
// etcd store's honesty, and pruning removes the agent from the AgentShard objects too.
import t from 'tap';
import { systemClock } from '../lib/clock.js';
import { decodeReport } from '../report/decode.js';
import type { Store } from '../exporter/store/store.js';
import { eventually } from './helpers/cli.js';
import { spawnExporter } from './helpers/etcd.js';
import { postReport, report, sample, startTestExporter } from './helpers/exporter.js';
import { FakeKube, shardEntries, storeArgs } from './helpers/fake-kube.js';
import { openKubeStore } from './helpers/kube-store.js';

const status = async (url: string): Promise<number> => (await fetch(url)).status;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Check {
  Absent: string[] | null;
  Outdated: string[] | null;
  agents: Array<{ name: string; state: string; node: string; network: string }>;
}
async function check(url: string): Promise<{ status: number; body: Check }> {
  const res = await fetch(`${url}/api/v1/connectivity_check`);
  return { status: res.status, body: (await res.json()) as Check };
}

t.test('an exporter restart (SIGKILL) restores the agents from the API and calls no live agent absent or outdated', async (t) => {
  const kube = await FakeKube.start(t);
  const args = [...storeArgs(kube), '--expect', 'agent-x,agent-y', '--startup-grace', '0'];
  const first = await spawnExporter(t, args);
  for (const name of ['agent-x', 'agent-y'])
    t.equal(
      (await postReport(first.url, name, report({ report_interval: 20, nodename: `node-${name}`, listen: '127.0.0.1:8082' }))).status,
      200,
    );
  await eventually(async () => (shardEntries(kube).size === 2 ? true : undefined), 5000, 'both agents in the AgentShards');
  await first.kill();

  const second = await spawnExporter(t, args);
  const c = await check(second.url);
  t.equal(c.status, 200, 'the first check after the restart passes (no grace needed)');
  t.same(
    c.body.agents.map((a) => [a.name, a.state, a.node]),
    [
      ['agent-x', 'ok', 'node-agent-x'],
      ['agent-y', 'ok', 'node-agent-y'],
    ],
  );
  t.equal(await status(`${second.url}/readyz`), 200);
  const rec = (await (await fetch(`${second.url}/api/v1/agents/agent-x`)).json()) as Record<string, unknown>;
  t.equal(rec.report_interval, 20, 'the interval survives the restart');
  t.equal(rec.nodename, 'node-agent-x', 'the node survives the restart');
  const peers = (await (await fetch(`${second.url}/api/v1/peers/agent-y`)).json()) as unknown;
  t.same(
    peers,
    { peers: [{ name: 'agent-x', node: 'node-agent-x', network: 'pod', address: '127.0.0.1:8082' }] },
    'its listen address and source too: peers are handed out at once',
  );
});

t.test('two replicas: an agent reporting to either, or switching, is never absent or outdated, and both agree', async (t) => {
  const kube = await FakeKube.start(t);
  // Interval 2 s: a heartbeat of 0.5 s keeps the stored receipt times well within it (docs/stores.md).
  const args = [...storeArgs(kube), '--kubernetes-store-heartbeat', '0.5', '--expect', 'agent-a,agent-b', '--startup-grace', '0'];
  const a = await startTestExporter(t, args);
  const b = await startTestExporter(t, args);
  const body = (name: string): string => report({ report_interval: 2, nodename: `node-${name}` });
  // Each agent reports to one replica: the other knows it through the API alone.
  t.equal((await postReport(a.url, 'agent-a', body('agent-a'))).status, 200);
  t.equal((await postReport(b.url, 'agent-b', body('agent-b'))).status, 200);
  for (const ex of [a, b])
    await eventually(async () => ((await check(ex.url)).status === 200 ? true : undefined), 5000, 'both agents ok on each replica');
  // 8 s = 4 intervals, reports every second; agent-a switches to B halfway (a new connection through the Service).
  const checks: number[] = [];
  for (let i = 0; i < 16; i++) {
    const target = i < 8 ? a.url : b.url;
    t.equal((await postReport(target, 'agent-a', body('agent-a'))).status, 200);
    t.equal((await postReport(b.url, 'agent-b', body('agent-b'))).status, 200);
    checks.push((await check(a.url)).status, (await check(b.url)).status);
    await sleep(500);
  }
  t.same([...new Set(checks)], [200], 'every check on both replicas passed');
  const va = await check(a.url);
  const vb = await check(b.url);
  t.same(
    vb.body.agents.map((x) => [x.name, x.state, x.node, x.network]),
    va.body.agents.map((x) => [x.name, x.state, x.node, x.network]),
    'both compute the same verdict',
  );
});

function rec(name: string, wallMs: number, node = 'node-1'): Parameters<Store['put']>[0] {
  const d = decodeReport(report({ report_interval: 30, nodename: node }));
  if (!d.ok) throw new Error(d.detail);
  return { name, report: d.value, receivedWallMs: wallMs, receivedMonoMs: systemClock.monoMs() };
}

t.test('a rolling restart of two replicas calls no agent absent or outdated', async (t) => {
  const kube = await FakeKube.start(t);
  // Interval 4 s, heartbeat 1 s (docs/stores.md: the heartbeat well under the interval).
  const args = [...storeArgs(kube), '--kubernetes-store-heartbeat', '1', '--expect', 'agent-a,agent-b', '--startup-grace', '0'];
  const body = (name: string): string => report({ report_interval: 4, nodename: `node-${name}` });
  // The Service: reports and checks go to the replicas that are up, in turn.
  const live: string[] = [];
  const statuses: number[] = [];
  let running = true;
  let turn = 0;
  const onePass = async (): Promise<void> => {
    for (const name of ['agent-a', 'agent-b']) {
      const url = live[turn++ % live.length];
      if (url) await postReport(url, name, body(name)).catch(() => undefined);
    }
    for (const url of [...live]) statuses.push((await check(url).catch(() => ({ status: 0 }))).status);
  };
  let pass = Promise.resolve();
  const loop = (async () => {
    while (running) {
      pass = onePass();
      await pass;
      await sleep(500);
    }
  })();
  t.teardown(async () => {
    running = false;
    await loop;
  });
  const a = await spawnExporter(t, args);
  const b = await spawnExporter(t, args);
  live.push(a.url, b.url);
  for (const ex of [a, b])
    await eventually(async () => ((await check(ex.url)).status === 200 ? true : undefined), 10_000, 'both agents ok');
  statuses.length = 0;
  for (const old of [a, b]) {
    live.splice(live.indexOf(old.url), 1); // out of the endpoints first, as on SIGTERM
    // Requests already routed to it finish first, as --shutdown-delay lets them; then it dies.
    await pass;
    await old.kill();
    const next = await spawnExporter(t, args);
    const first = await check(next.url);
    t.equal(first.status, 200, 'the new replica passes its first check');
    live.push(next.url);
    await sleep(3000);
  }
  running = false;
  await loop;
  t.ok(statuses.length > 10, `${statuses.length} checks during the rollout`);
  t.same([...new Set(statuses)], [200], 'every check on every live replica passed');
});

t.test('two writers converge on the newer record; a 409 is merged on fresh state and never loses it', async (t) => {
  const kube = await FakeKube.start(t);
  const s1 = await openKubeStore(t, kube, ['--report-ttl', '60']);
  const s2 = await openKubeStore(t, kube, ['--report-ttl', '60']);
  const now = Date.now();
  // Both receive agent-n; s2's report is the later one. Either order of writes ends on it.
  await s1.put(rec('agent-n', now - 4000, 'node-old'));
  await s2.put(rec('agent-n', now - 1000, 'node-new'));
  for (const s of [s1, s2])
    await eventually(
      async () => (s.get('agent-n')?.report.nodeName === 'node-new' && s.health().queued === 0 ? true : undefined),
      5000,
      'the newer record on both',
    );
  t.equal(shardEntries(kube).get('agent-n')?.node, 'node-new', 'the API holds the newer record');

  // A stale view: s1 cannot see the shard change (its watch is refused), another writer stores a later record.
  kube.forbid('agentshards', 'watch');
  await eventually(async () => (!s1.health().up ? true : undefined), 5000, 's1 knows it is blind');
  const shard = kube.list('agentshards').find((o) => JSON.stringify(o.spec).includes('agent-n'));
  if (!shard) return t.fail('no shard holds agent-n');
  kube.update(
    'agentshards',
    shard.metadata.name,
    (o) => {
      const agents = (o.spec as { agents: Record<string, Record<string, unknown>> }).agents;
      agents['agent-n'] = { ...agents['agent-n'], node: 'node-newest', receivedAt: Math.floor(now / 1000) };
      agents['agent-m'] = { node: 'node-m', intervalSeconds: 30, receivedAt: Math.floor(now / 1000) };
    },
    'netchecker',
  );
  const conflictsBefore = kube.count({ verb: 'update', status: 409 });
  await s1.put(rec('agent-n', now - 2000, 'node-stale')); // older than the stored one
  await s1.put(rec('agent-o', now, 'node-o'));
  await eventually(
    async () => (kube.count({ verb: 'update', status: 409 }) > conflictsBefore ? true : undefined),
    5000,
    'a 409 on the stale resourceVersion',
  );
  await eventually(
    async () => (shardEntries(kube).has('agent-o') || s1.get('agent-n')?.report.nodeName === 'node-newest' ? true : undefined),
    5000,
    'the merge written',
  );
  kube.allow('agentshards', 'watch');
  await eventually(async () => (s1.health().up && s1.health().queued === 0 ? true : undefined), 10_000, 's1 up and written back');
  const entries = shardEntries(kube);
  t.equal(entries.get('agent-n')?.node, 'node-newest', 'the later record stays in the API');
  t.equal(entries.get('agent-m')?.node, 'node-m', "the other writer's agent stays");
  t.equal(entries.get('agent-o')?.node, 'node-o', "s1's own change got in");
  t.equal(s1.get('agent-n')?.report.nodeName, 'node-newest', 's1 took the later record');
  await eventually(
    async () => (s2.get('agent-o') && s2.get('agent-n')?.report.nodeName === 'node-newest' ? true : undefined),
    5000,
    's2 agrees',
  );
  t.pass('both replicas converge');
});

t.test('an API outage: 200 while kept and queued, 503 store_unavailable past the queue, /readyz 503 until written back', async (t) => {
  const kube = await FakeKube.start(t);
  const ex = await startTestExporter(t, [
    ...storeArgs(kube),
    '--kubernetes-store-queue-max',
    '2',
    '--kubernetes-store-timeout',
    '1',
    '--expect',
    'agent-1,agent-2,agent-3',
    '--startup-grace',
    '0',
  ]);
  t.equal((await postReport(ex.url, 'agent-1', report({ report_interval: 30 }))).status, 200);
  await eventually(async () => (shardEntries(kube).has('agent-1') ? true : undefined), 5000, 'agent-1 in the API');
  t.equal(await status(`${ex.url}/readyz`), 200);

  await kube.down();
  // The store learns of the outage by its watch (cut) or its next write.
  t.equal((await postReport(ex.url, 'agent-2', report({ report_interval: 30 }))).status, 200, 'kept in memory, queued for the API');
  await eventually(async () => ((await status(`${ex.url}/readyz`)) === 503 ? true : undefined), 10_000, '/readyz 503 once the store knows');
  t.equal((await postReport(ex.url, 'agent-3', report({ report_interval: 30 }))).status, 200, 'a second agent still fits the queue (2)');
  const refused = await postReport(ex.url, 'agent-4', report({ report_interval: 30 }));
  t.equal(refused.status, 503, 'past --kubernetes-store-queue-max: 503');
  t.equal(((await refused.json()) as { error: string }).error, 'store_unavailable');
  t.equal(refused.headers.get('retry-after'), '1');
  t.equal((await fetch(`${ex.url}/api/v1/agents/agent-4`)).status, 404, 'nothing kept of the refused report');
  t.equal(
    (await postReport(ex.url, 'agent-2', report({ report_interval: 30, nodename: 'again' }))).status,
    200,
    'an agent already waiting is taken again',
  );
  const m = await (await fetch(`${ex.url}/metrics`)).text();
  t.equal(sample(m, 'netchecker_store_up'), 0);
  t.ok((sample(m, 'netchecker_store_queued_writes') ?? 0) >= 2, 'the waiting changes are counted');
  t.equal((await check(ex.url)).status, 200, 'nobody absent or outdated: the exporter answers from memory');

  await kube.up();
  await eventually(async () => ((await status(`${ex.url}/readyz`)) === 200 ? true : undefined), 20_000, 'ready once written back');
  const entries = shardEntries(kube);
  t.same([...entries.keys()].sort(), ['agent-1', 'agent-2', 'agent-3'], 'every report answered 200 is in the API');
  t.equal(entries.get('agent-2')?.node, 'again', 'the latest of them');
  t.equal(sample(await (await fetch(`${ex.url}/metrics`)).text(), 'netchecker_store_queued_writes'), 0);
});

t.test('pruning after --report-ttl removes the agent from the AgentShard objects', async (t) => {
  const kube = await FakeKube.start(t);
  // TTL 2 s, interval 1 s: pruned once silent for max(2, 3 x 1) = 3 s.
  const ex = await startTestExporter(t, [...storeArgs(kube), '--report-ttl', '2']);
  t.equal((await postReport(ex.url, 'gone-agent', report({ report_interval: 1 }))).status, 200);
  t.equal((await postReport(ex.url, 'staying-agent', report({ report_interval: 60 }))).status, 200);
  await eventually(async () => (shardEntries(kube).has('gone-agent') ? true : undefined), 5000, 'in the API');
  await eventually(async () => (!shardEntries(kube).has('gone-agent') ? true : undefined), 15_000, 'pruned from the API');
  t.equal((await fetch(`${ex.url}/api/v1/agents/gone-agent`)).status, 404, 'and from the exporter');
  t.ok(shardEntries(kube).has('staying-agent'), 'the other agent stays');
  t.ok(ex.logs.some((l) => l.msg === 'agent pruned' && l.agent === 'gone-agent'));
});

t.test("each agent's state is in the API as its writer judged it, written as soon as it changes", async (t) => {
  const kube = await FakeKube.start(t);
  const ex = await startTestExporter(t, storeArgs(kube));
  const stateOf = (name: string): unknown => shardEntries(kube).get(name)?.state;
  const notOk = (): number =>
    kube.list('agentshards').reduce((n, o) => n + Number((o.spec as { notOkCount?: number } | undefined)?.notOkCount ?? 0), 0);
  // Interval 1 s: outdated once silent for more than 2 s; the other agent stays ok for a minute.
  const quiet = report({ report_interval: 1 });
  t.equal((await postReport(ex.url, 'quiet-agent', quiet)).status, 200);
  t.equal((await postReport(ex.url, 'busy-agent', report({ report_interval: 60 }))).status, 200);
  await eventually(async () => (stateOf('quiet-agent') === 'ok' && stateOf('busy-agent') === 'ok' ? true : undefined), 10_000, 'judged ok');
  t.equal(notOk(), 0, 'no agent counted not ok');
  // A state change does not wait for the 5 s heartbeat: stored within a verdict tick and a write.
  await eventually(async () => (stateOf('quiet-agent') === 'outdated' ? true : undefined), 10_000, 'outdated once silent');
  t.equal(stateOf('busy-agent'), 'ok', 'the other agent stays ok');
  t.equal(notOk(), 1, 'kubectl get agentshards counts it under "Not ok"');
  t.equal((await postReport(ex.url, 'quiet-agent', quiet)).status, 200);
  await eventually(async () => (stateOf('quiet-agent') === 'ok' ? true : undefined), 10_000, 'ok again once it reports');
  t.equal(notOk(), 0);
});
