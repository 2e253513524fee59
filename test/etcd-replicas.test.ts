// Two exporter processes on one real etcd behave as one: a report sent to either is visible on
// both within a second, and both answer the same verdict.
import t from 'tap';
import { eventually } from './helpers/cli.js';
import { etcdArgs, spawnExporter, startEtcd } from './helpers/etcd.js';
import { postReport, report, sample } from './helpers/exporter.js';

interface Check {
  Message: string;
  Absent: string[] | null;
  Outdated: string[] | null;
  agents: Array<{ name: string; state: string; expected: boolean; node: string; network: string }>;
}

/** The verdict without the ages, which differ by the milliseconds between two requests. */
async function verdictOf(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${url}/api/v1/connectivity_check`);
  const c = (await res.json()) as Check;
  return {
    status: res.status,
    body: { ...c, agents: c.agents.map(({ name, state, expected, node, network }) => ({ name, state, expected, node, network })) },
  };
}

t.test('two replicas on one etcd agree', async (t) => {
  const etcd = await startEtcd(t);
  const args = [...etcdArgs(etcd, '/replicas'), '--expect', 'agent-a,agent-b,agent-c', '--startup-grace', '0'];
  const a = await spawnExporter(t, args);
  const b = await spawnExporter(t, args);

  for (const ex of [a, b]) {
    t.equal((await fetch(`${ex.url}/readyz`)).status, 200, 'ready');
    t.equal(sample(await (await fetch(`${ex.url}/metrics`)).text(), 'netchecker_store_up'), 1, 'netchecker_store_up 1');
  }

  const dns = [{ server: '10.96.0.10', name: 'kubernetes.default.svc.cluster.local', result: 'ok', latency_ms: 1.5 }];
  t.equal(
    (await postReport(a.url, 'agent-a', report({ report_interval: 30, nodename: 'node-1', listen: '10.0.0.1:8082', dns }))).status,
    200,
  );
  const seenOnB = await eventually(
    async () => {
      const r = await fetch(`${b.url}/api/v1/agents/agent-a`);
      return r.status === 200 ? ((await r.json()) as Record<string, unknown>) : undefined;
    },
    1000,
    'the report sent to A on B within a second',
  );
  const onA = (await (await fetch(`${a.url}/api/v1/agents/agent-a`)).json()) as Record<string, unknown>;
  t.same(seenOnB, onA, 'B answers the same record as A, last_updated included');
  const dnsUp = /^netchecker_agent_dns_up\{agent="agent-a",[^}]*\} 1$/m;
  await eventually(
    async () => (dnsUp.test(await (await fetch(`${b.url}/metrics`)).text()) ? true : undefined),
    2000,
    'the DNS result of agent-a on B',
  );
  t.pass("our agent's additions (here its DNS results) reach B too");

  t.equal((await postReport(b.url, 'agent-b', report({ report_interval: 30, nodename: 'node-2' }))).status, 200);
  await eventually(
    async () => ((await fetch(`${a.url}/api/v1/agents/agent-b`)).status === 200 ? true : undefined),
    1000,
    'the report sent to B on A within a second',
  );

  const va = await verdictOf(a.url);
  const vb = await verdictOf(b.url);
  t.equal(va.status, 400, 'agent-c never reported: the check fails');
  t.same(vb, va, 'both replicas compute the same verdict');
  t.same((va.body as Check).Absent, ['agent-c']);
  t.same(
    await (await fetch(`${a.url}/api/v1/agents/`)).json(),
    await (await fetch(`${b.url}/api/v1/agents/`)).json(),
    'both list the same records',
  );

  t.equal((await postReport(b.url, 'agent-c', report({ report_interval: 30, nodename: 'node-3' }))).status, 200);
  const pass = await eventually(
    async () => {
      const v = await verdictOf(a.url);
      return v.status === 200 ? v : undefined;
    },
    1000,
    'A passes once agent-c reported to B',
  );
  t.same(await verdictOf(b.url), pass, 'and B agrees');
});
