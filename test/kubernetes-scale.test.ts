// 5,000 agent pods on 2,500 nodes: the check and /metrics answer from memory, with zero
// Kubernetes API calls per request (counted by the fake API server).
import t from 'tap';
import { LIST_PAGE_SIZE } from '../exporter/discovery/informer.js';
import { eventually } from './helpers/cli.js';
import { postReport, report, sample, startTestExporter } from './helpers/exporter.js';
import { agentPod, discoveryArgs, FakeKube, type KubeObject, node } from './helpers/fake-kube.js';

/** Lists and watches of pods and nodes are counted here: the DNS Service's EndpointSlice watch is off (test/dns-replicas.test.ts has it). */
const PODS_AND_NODES_ONLY = ['--dns-service', ''];

t.test('5,000 pods: one paged list and one watch per resource, zero API calls per request', async (t) => {
  const kube = await FakeKube.start(t);
  const nodes: KubeObject[] = [];
  const pods: KubeObject[] = [];
  for (let i = 0; i < 2500; i++) {
    nodes.push(node(`node-${i}`));
    pods.push(
      agentPod(`netchecker-agent-${i}`, { node: `node-${i}` }),
      agentPod(`netchecker-agent-hostnet-${i}`, { node: `node-${i}`, hostNetwork: true }),
    );
  }
  kube.apply('nodes', ...nodes);
  kube.apply('pods', ...pods);
  const ex = await startTestExporter(t, [...discoveryArgs(kube), ...PODS_AND_NODES_ONLY, '--startup-grace', '0']);
  const first = await eventually(
    async () => {
      const res = await fetch(`${ex.url}/api/v1/connectivity_check`);
      const body = (await res.json()) as { Absent: string[] | null };
      return body.Absent?.length === 5000 ? { status: res.status, body } : undefined;
    },
    30_000,
    '5,000 absent agents',
  );
  t.equal(first.status, 400);
  await eventually(async () => (kube.openWatches() === 2 ? true : undefined), 10_000, 'both watches open');
  t.same(
    [kube.count({ verb: 'list', resource: 'pods' }), kube.count({ verb: 'list', resource: 'nodes' })],
    [5000 / LIST_PAGE_SIZE, 2500 / LIST_PAGE_SIZE],
    `one list each, in pages of ${LIST_PAGE_SIZE}`,
  );

  const before = kube.count();
  for (let i = 0; i < 100; i++) await postReport(ex.url, `netchecker-agent-${i}`, report({ nodename: `node-${i}`, report_interval: 60 }));
  for (let i = 0; i < 50; i++) {
    const res = await fetch(`${ex.url}/api/v1/connectivity_check`);
    t.equal(res.status, 400, `check ${i}`);
    await res.arrayBuffer();
  }
  const metrics = await (await fetch(`${ex.url}/metrics`)).text();
  t.equal(sample(metrics, 'netchecker_agents_expected{network="host"}'), 2500);
  t.equal(sample(metrics, 'netchecker_agents{network="pod",state="ok"}'), 100);
  t.equal(kube.count(), before, 'zero Kubernetes API requests for 100 reports, 50 checks and a scrape');

  // One change is one watch event, not a list.
  kube.update('nodes', 'node-7', (n) => {
    n.spec = { unschedulable: true };
  });
  kube.remove('pods', 'netchecker-agent-hostnet-9', 'netchecker');
  await eventually(
    async () => {
      const body = (await (await fetch(`${ex.url}/api/v1/connectivity_check`)).json()) as {
        agents: Array<{ name: string; state: string }>;
      };
      return body.agents.length === 4999 && body.agents.find((a) => a.name === 'netchecker-agent-hostnet-7')?.state === 'node_cordoned'
        ? true
        : undefined;
    },
    10_000,
    'the change',
  );
  t.equal(kube.count(), before, 'still no request: the watch delivered it');
});
