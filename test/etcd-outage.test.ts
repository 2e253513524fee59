// etcd goes away and comes back while agents keep reporting: the exporters stay up, answer from
// their cache, say they are not ready, call nobody absent or outdated, and write every agent's
// latest report back when etcd returns.
import { rmSync } from 'node:fs';
import t from 'tap';
import { eventually } from './helpers/cli.js';
import { etcdArgs, type ExporterProcess, spawnExporter, startEtcd, startFeeder, waitHealthy } from './helpers/etcd.js';
import { postReport, report, sample } from './helpers/exporter.js';

const status = async (url: string): Promise<number> => (await fetch(url)).status;
const metrics = async (ex: ExporterProcess): Promise<string> => (await fetch(`${ex.url}/metrics`)).text();
const storeErrors = (text: string): number =>
  ['put', 'delete', 'load', 'watch', 'lease'].reduce(
    (sum, op) => sum + (sample(text, `netchecker_store_errors_total{op="${op}"}`) ?? 0),
    0,
  );
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('etcd killed and restarted while reports keep coming', async (t) => {
  const etcd = await startEtcd(t);
  const member = etcd.members[0];
  if (!member) throw new Error('no etcd member');
  const args = [...etcdArgs(etcd, '/outage'), '--expect', 'agent-a,agent-b', '--startup-grace', '0'];
  const a = await spawnExporter(t, args);
  const b = await spawnExporter(t, args);
  // Each agent reports to one replica only, so each replica knows the other agent through etcd alone.
  const feeder = startFeeder(
    t,
    [
      { url: a.url, agent: 'agent-a' },
      { url: b.url, agent: 'agent-b' },
    ],
    300,
  );
  for (const ex of [a, b]) {
    await eventually(
      async () => ((await status(`${ex.url}/api/v1/connectivity_check`)) === 200 ? true : undefined),
      5000,
      'both agents ok',
    );
  }

  await member.kill();
  const checks: number[] = [];
  for (let i = 0; i < 20; i++) {
    // 5 s: both agents (interval 1 s) would be outdated after 2 s if anyone judged them on stale data.
    checks.push(await status(`${a.url}/api/v1/connectivity_check`), await status(`${b.url}/api/v1/connectivity_check`));
    await sleep(250);
  }
  t.same([...new Set(checks)], [200], 'no agent is called absent or outdated during the outage, on either replica');
  for (const ex of [a, b]) {
    t.equal(await status(`${ex.url}/readyz`), 503, 'not ready while etcd is away');
    t.equal(await status(`${ex.url}/healthz`), 200, 'alive');
    const m = await metrics(ex);
    t.equal(sample(m, 'netchecker_store_up'), 0, 'netchecker_store_up 0');
    t.ok(storeErrors(m) > 0, 'netchecker_store_errors_total counts the failures');
    t.ok((sample(m, 'netchecker_store_queued_writes') ?? 0) >= 1, 'reports queued for write-back');
    t.ok(
      ex.logs().some((l) => l.msg === 'etcd is unavailable: serving from the cache, queueing reports for write-back'),
      'logged once it went away',
    );
  }
  const own = (await (await fetch(`${a.url}/api/v1/agents/agent-a`)).json()) as { uptime: number };
  t.ok(own.uptime >= (feeder.acked.get('agent-a') ?? 0) - 1, 'A answers from its cache with the latest report it took');

  await member.start();
  await waitHealthy(etcd);
  for (const ex of [a, b]) {
    await eventually(async () => ((await status(`${ex.url}/readyz`)) === 200 ? true : undefined), 20_000, 'ready again once etcd is back');
    t.equal(sample(await metrics(ex), 'netchecker_store_queued_writes'), 0, 'the queue is written back');
    t.equal(sample(await metrics(ex), 'netchecker_store_up'), 1);
  }
  await feeder.stop();
  t.same([...new Set(feeder.statuses)], [200], `all ${feeder.statuses.length} reports were answered 200 (stored or queued)`);
  for (const agent of ['agent-a', 'agent-b']) {
    const stored = await eventually(
      async () => {
        const v = JSON.parse(await etcd.etcdctl(['get', `/outage/agents/${agent}`, '--print-value-only'])) as { uptime: number };
        return v.uptime === feeder.acked.get(agent) ? v : undefined;
      },
      5000,
      `the latest report of ${agent} in etcd`,
    );
    t.equal(stored.uptime, feeder.acked.get(agent), `${agent}: the last report answered 200 is in etcd`);
  }
  t.same(
    await (await fetch(`${a.url}/api/v1/agents/`)).json(),
    await (await fetch(`${b.url}/api/v1/agents/`)).json(),
    'replicas agree again',
  );
  t.equal(await status(`${a.url}/api/v1/connectivity_check`), 200);
  t.equal(a.spawned.child.exitCode, null, 'A never exited');
  t.equal(b.spawned.child.exitCode, null, 'B never exited');
});

t.test('an exporter started while etcd is down serves, calls nobody absent, and catches up', async (t) => {
  const etcd = await startEtcd(t);
  const member = etcd.members[0];
  if (!member) throw new Error('no etcd member');
  await etcd.etcdctl(['put', '/late/agents/agent-x', report({ report_interval: 60, last_updated: new Date().toISOString() })]);
  await member.kill();
  const ex = await spawnExporter(t, [
    ...etcdArgs(etcd, '/late'),
    '--expect',
    'agent-x,agent-y',
    '--startup-grace',
    '0',
    '--etcd-timeout',
    '0.5',
  ]);
  t.equal(await status(`${ex.url}/readyz`), 503, 'not ready without etcd');
  const check = await fetch(`${ex.url}/api/v1/connectivity_check`);
  const body = (await check.json()) as { Absent: string[]; agents: Array<{ name: string; state: string }> };
  t.same(
    body.agents.map((a) => a.state),
    ['starting', 'starting'],
    'nobody is called absent because the state is not loaded yet',
  );
  t.same([check.status, body.Absent], [400, ['agent-x', 'agent-y']], 'yet without evidence the check does not pass');
  t.equal((await postReport(ex.url, 'agent-y', report({ report_interval: 60 }))).status, 200, 'a report is queued and answered 200');
  // Without --expect the expected set is the store's agents: unknown until the first load.
  const open = await spawnExporter(t, [...etcdArgs(etcd, '/late-open'), '--etcd-timeout', '0.5']);
  t.equal((await postReport(open.url, 'agent-z', report({ report_interval: 60 }))).status, 200, 'queued');
  const unknown = await fetch(`${open.url}/api/v1/connectivity_check`);
  t.same(
    [unknown.status, await unknown.text()],
    [
      500,
      'Error occurred while checking the agents. Details: the store has not loaded its state yet, so the agents that must report are unknown',
    ],
    'no expected set and no load: 500, not "All 1 pods"',
  );

  await member.start();
  await waitHealthy(etcd);
  await eventually(async () => ((await status(`${ex.url}/readyz`)) === 200 ? true : undefined), 20_000, 'ready once etcd is back');
  const agents = (await (await fetch(`${ex.url}/api/v1/agents/`)).json()) as Record<string, unknown>;
  t.same(Object.keys(agents).sort(), ['agent-x', 'agent-y'], 'loaded agent-x from etcd, kept agent-y');
  t.match(await etcd.etcdctl(['get', '/late/agents/agent-y', '--print-value-only']), /"report_interval":60/, 'agent-y written back');
  t.equal(await status(`${ex.url}/api/v1/connectivity_check`), 200);
});

t.test('etcd comes back empty (data lost): the exporter writes back what it holds', async (t) => {
  const etcd = await startEtcd(t);
  const member = etcd.members[0];
  if (!member) throw new Error('no etcd member');
  const ex = await spawnExporter(t, etcdArgs(etcd, '/wiped'));
  for (const name of ['agent-p', 'agent-q']) t.equal((await postReport(ex.url, name, report({ report_interval: 60 }))).status, 200);
  // Enough writes that the old revision is clearly above what a fresh etcd starts at.
  for (let i = 0; i < 20; i++) await postReport(ex.url, 'agent-p', report({ report_interval: 60, uptime: i }));
  await member.kill();
  rmSync(member.dataDir, { recursive: true, force: true });
  await member.start();
  await waitHealthy(etcd);
  // readyz may still say 200 from before the exporter noticed the restart: wait for the write-back first.
  const wroteBack = (): boolean =>
    ex.logs().some((l) => l.msg === 'etcd holds an older state than this exporter saw: writing back every record it holds');
  await eventually(async () => (wroteBack() ? true : undefined), 20_000, 'the write-back');
  await eventually(async () => ((await status(`${ex.url}/readyz`)) === 200 ? true : undefined), 20_000, 'ready on the new etcd');
  const keys = (await etcd.etcdctl(['get', '/wiped/agents/', '--prefix', '--keys-only'])).split('\n').filter(Boolean).sort();
  t.same(keys, ['/wiped/agents/agent-p', '/wiped/agents/agent-q'], 'both records are in the new etcd');
  t.match(await etcd.etcdctl(['get', '/wiped/agents/agent-p', '--print-value-only']), /"uptime":19/, 'the latest one');
  t.ok(wroteBack(), 'logged');
});
