// A three-member etcd cluster loses its leader while an agent keeps reporting: every report the
// exporter answered 200 survives, the latest one is in etcd, and a replica started afterwards sees it.
import t from 'tap';
import { eventually } from './helpers/cli.js';
import { etcdArgs, spawnExporter, startEtcd, startFeeder } from './helpers/etcd.js';

t.test('a three-member etcd loses its leader and no report is lost', async (t) => {
  const etcd = await startEtcd(t, { members: 3 });
  const a = await spawnExporter(t, [...etcdArgs(etcd, '/cluster'), '--expect', 'agent-seq']);
  const feeder = startFeeder(t, [{ url: a.url, agent: 'agent-seq' }], 50, 30);
  await eventually(async () => ((feeder.acked.get('agent-seq') ?? 0) >= 5 ? true : undefined), 5000, 'reports flowing');

  const leader = await etcd.leader();
  const killed = etcd.members[leader];
  if (!killed) throw new Error('no leader member');
  await killed.kill();
  t.comment(`killed the leader ${killed.name} at report ${feeder.acked.get('agent-seq')}`);
  const newLeader = await eventually(
    async () => {
      const l = await etcd.leader();
      return l !== leader ? l : undefined;
    },
    15_000,
    'a new leader',
  );
  t.not(newLeader, leader, 'the two members left elected a new leader');
  await new Promise((r) => setTimeout(r, 1500)); // reports keep coming under the new leader
  await eventually(
    async () => ((await fetch(`${a.url}/readyz`)).status === 200 ? true : undefined),
    15_000,
    'the exporter ready on the remaining members',
  );
  await feeder.stop();
  const last = feeder.acked.get('agent-seq') ?? 0;
  t.same([...new Set(feeder.statuses)], [200], `all ${feeder.statuses.length} reports answered 200`);

  const stored = await eventually(
    async () => {
      const v = JSON.parse(await etcd.etcdctl(['get', '/cluster/agents/agent-seq', '--print-value-only'])) as { uptime: number };
      return v.uptime === last ? v : undefined;
    },
    10_000,
    `report ${last} in etcd`,
  );
  t.equal(stored.uptime, last, 'the last report answered 200 is the one stored');
  const b = await spawnExporter(t, etcdArgs(etcd, '/cluster'));
  const onB = (await (await fetch(`${b.url}/api/v1/agents/agent-seq`)).json()) as { uptime: number };
  t.equal(onB.uptime, last, 'a replica started now loads it');
  t.equal((await fetch(`${a.url}/api/v1/connectivity_check`)).status, 200);
});
