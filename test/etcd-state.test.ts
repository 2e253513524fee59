// What lives in etcd: an exporter restart loads it, leases remove agents that are gone, and values
// that are not valid records are skipped with a log line, never a crash.
import t from 'tap';
import { eventually } from './helpers/cli.js';
import { etcdArgs, spawnExporter, startEtcd } from './helpers/etcd.js';
import { postReport, report, sample } from './helpers/exporter.js';

t.test('an exporter restart restores the state and calls no live agent absent', async (t) => {
  const etcd = await startEtcd(t);
  const args = [...etcdArgs(etcd, '/restart'), '--expect', 'agent-x,agent-y', '--startup-grace', '0'];
  const first = await spawnExporter(t, args);
  for (const name of ['agent-x', 'agent-y']) t.equal((await postReport(first.url, name, report({ report_interval: 60 }))).status, 200);
  const before = (await (await fetch(`${first.url}/api/v1/agents/`)).json()) as unknown;
  await first.kill();

  const second = await spawnExporter(t, args);
  const check = await fetch(`${second.url}/api/v1/connectivity_check`);
  const body = (await check.json()) as { Absent: unknown; agents: Array<{ state: string }> };
  t.equal(check.status, 200, 'the first check after the restart passes (no grace needed)');
  t.equal(body.Absent, null);
  t.same(
    body.agents.map((a) => a.state),
    ['ok', 'ok'],
  );
  t.same(await (await fetch(`${second.url}/api/v1/agents/`)).json(), before, 'the same records, last_updated included');
  t.equal((await fetch(`${second.url}/readyz`)).status, 200);
});

t.test('lease expiry removes an agent that is gone', async (t) => {
  const etcd = await startEtcd(t);
  // TTL 2 s and interval 1 s: the lease keeps the key at least max(2, 3 x 1) = 3 s, at most 1 s more.
  const a = await spawnExporter(t, [...etcdArgs(etcd, '/lease'), '--report-ttl', '2']);
  t.equal((await postReport(a.url, 'gone-agent', report({ report_interval: 1 }))).status, 200);
  // Lease ids are 64-bit: read them as text, JSON numbers would lose digits.
  const lease = /"lease":(\d+)/.exec(await etcd.etcdctl(['get', '/lease/agents/gone-agent', '-w', 'json']))?.[1];
  t.ok(lease !== undefined && lease !== '0', 'the key is attached to a lease');
  const ttl = await etcd.etcdctl(['lease', 'timetolive', BigInt(lease ?? 0).toString(16)]);
  t.match(ttl, /granted with TTL\(4s\)/, 'lease TTL: the report TTL (at least 3 intervals) plus the 1 s sharing window');
  await a.kill(); // nobody is left to prune it: only the lease can

  await eventually(
    async () => ((await etcd.etcdctl(['get', '/lease/agents/', '--prefix', '--keys-only'])).trim() === '' ? true : undefined),
    10_000,
    'the key gone with its lease',
  );
  t.pass('etcd dropped the key when the lease expired');
  const b = await spawnExporter(t, etcdArgs(etcd, '/lease'));
  t.same(await (await fetch(`${b.url}/api/v1/agents/`)).json(), {}, 'a new exporter knows nothing of the gone agent');
});

t.test('invalid values in etcd are skipped with a log line', async (t) => {
  const etcd = await startEtcd(t);
  const valid = report({ report_interval: 30, last_updated: new Date().toISOString() });
  await etcd.etcdctl(['put', '/bad/agents/not-json', 'this is not JSON {']);
  await etcd.etcdctl(['put', '/bad/agents/wrong-shape', '{"report_interval":"soon","last_updated":"2026-01-01T00:00:00Z"}']);
  await etcd.etcdctl(['put', '/bad/agents/no-time', report({ report_interval: 30 })]);
  await etcd.etcdctl(['put', '/bad/agents/Not_A_Pod', valid]);
  await etcd.etcdctl(['put', '/bad/agents/good', valid]);
  const ex = await spawnExporter(t, etcdArgs(etcd, '/bad'));
  t.same(Object.keys((await (await fetch(`${ex.url}/api/v1/agents/`)).json()) as object), ['good'], 'only the valid record is loaded');
  const skipped = (): string[] =>
    ex
      .logs()
      .filter((l) => l.msg === 'skipped an invalid value in etcd')
      .map((l) => String(l.key));
  t.same(
    skipped().sort(),
    ['/bad/agents/Not_A_Pod', '/bad/agents/no-time', '/bad/agents/not-json', '/bad/agents/wrong-shape'],
    'one log line per invalid value, naming its key',
  );
  t.equal((await fetch(`${ex.url}/readyz`)).status, 200, 'ready: bad values are data errors, not an outage');

  await etcd.etcdctl(['put', '/bad/agents/good', '[1,2,3]']);
  await eventually(
    async () => ((await fetch(`${ex.url}/api/v1/agents/good`)).status === 404 ? true : undefined),
    3000,
    'the agent without a valid record',
  );
  t.ok(skipped().filter((k) => k === '/bad/agents/good').length === 1, 'a bad value arriving through the watch is logged too');
  await etcd.etcdctl(['put', '/bad/agents/good', valid]);
  await eventually(
    async () => ((await fetch(`${ex.url}/api/v1/agents/good`)).status === 200 ? true : undefined),
    3000,
    'the valid record again',
  );
  t.equal(ex.spawned.child.exitCode, null, 'the exporter is still running');
});

t.test('a lease etcd lost is granted anew on the next report', async (t) => {
  const etcd = await startEtcd(t);
  const ex = await spawnExporter(t, etcdArgs(etcd, '/lost'));
  const leaseOf = async (): Promise<string | undefined> =>
    /"lease":(\d+)/.exec(await etcd.etcdctl(['get', '/lost/agents/agent-l', '-w', 'json']))?.[1];
  t.equal((await postReport(ex.url, 'agent-l', report({ report_interval: 5 }))).status, 200);
  const first = await leaseOf();
  t.ok(first, 'stored with a lease');
  await etcd.etcdctl(['lease', 'revoke', BigInt(first ?? 0).toString(16)]);
  t.equal(await leaseOf(), undefined, 'revoking the lease removed the key');
  t.equal((await postReport(ex.url, 'agent-l', report({ report_interval: 5 }))).status, 200, 'the next report is stored');
  const second = await leaseOf();
  t.ok(second && second !== first, 'under a new lease');
  t.equal(
    sample(await (await fetch(`${ex.url}/metrics`)).text(), 'netchecker_store_errors_total{op="lease"}'),
    1,
    'the lost lease is counted',
  );
  t.equal((await fetch(`${ex.url}/readyz`)).status, 200, 'and the store stays ready');
});
