// --discovery kubernetes against the fake API server, driven by the real client library: the
// expected set follows pods and nodes, with a reason for every agent that is not reporting.
import t from 'tap';
import type { CheckAgent } from '../report/answers.js';
import { eventually } from './helpers/cli.js';
import { FakeClock, postReport, report, sample, startTestExporter } from './helpers/exporter.js';
import { agentPod, discoveryArgs, FakeKube, node } from './helpers/fake-kube.js';

interface Check {
  status: number;
  Message: string;
  Absent: string[] | null;
  Outdated: string[] | null;
  agents: CheckAgent[];
}

async function check(url: string): Promise<Check> {
  const res = await fetch(`${url}/api/v1/connectivity_check`);
  const body = (await res.json()) as Omit<Check, 'status'>;
  return { status: res.status, ...body };
}

const states = (c: Check): Record<string, string> => Object.fromEntries(c.agents.map((a) => [a.name, a.state]));

/** Polls the check until `want` holds for its agents' states. */
async function until(url: string, want: (s: Record<string, string>) => boolean, what: string): Promise<Check> {
  return eventually(
    async () => {
      const c = await check(url);
      return want(states(c)) ? c : undefined;
    },
    10_000,
    what,
  );
}

const send = (url: string, name: string, nodeName: string): Promise<Response> =>
  postReport(url, name, report({ nodename: nodeName, report_interval: 60 }));

t.test('pods added and removed; network from spec.hostNetwork; node from the pod', async (t) => {
  const kube = await FakeKube.start(t);
  kube.apply('nodes', node('n1'), node('n2'));
  kube.apply(
    'pods',
    agentPod('netchecker-agent-a1', { node: 'n1' }),
    agentPod('netchecker-agent-hostnet-a1', { node: 'n1', hostNetwork: true }),
  );
  kube.apply('pods', agentPod('other-app', { node: 'n1', app: 'something-else' }));
  const ex = await startTestExporter(t, [...discoveryArgs(kube), '--startup-grace', '0']);

  let c = await until(ex.url, (s) => Object.keys(s).length === 2, 'the two agent pods');
  t.equal(c.status, 400);
  t.same([c.Absent, c.Outdated], [['netchecker-agent-a1', 'netchecker-agent-hostnet-a1'], []]);
  t.same(
    c.agents.map((a) => [a.name, a.node, a.network, a.state, a.expected]),
    [
      ['netchecker-agent-a1', 'n1', 'pod', 'absent', true],
      ['netchecker-agent-hostnet-a1', 'n1', 'host', 'absent', true],
    ],
  );
  t.notOk(
    c.agents.some((a) => a.name === 'other-app'),
    'pods outside the selector are not expected',
  );

  await send(ex.url, 'netchecker-agent-a1', 'n1');
  await send(ex.url, 'netchecker-agent-hostnet-a1', 'n1');
  c = await check(ex.url);
  t.equal(c.status, 200);
  t.equal(c.Message, 'All 2 pods successfully reported back to the server');

  kube.apply('pods', agentPod('netchecker-agent-b2', { node: 'n2' }));
  c = await until(ex.url, (s) => s['netchecker-agent-b2'] === 'absent', 'the new pod');
  t.equal(c.status, 400);
  t.same(c.Absent, ['netchecker-agent-b2']);

  kube.remove('pods', 'netchecker-agent-b2', 'netchecker');
  c = await until(ex.url, (s) => !('netchecker-agent-b2' in s), 'the pod to be gone');
  t.equal(c.status, 200, 'a deleted pod is no longer expected');

  kube.remove('pods', 'netchecker-agent-a1', 'netchecker');
  c = await eventually(
    async () => {
      const now = await check(ex.url);
      return now.agents.find((a) => a.name === 'netchecker-agent-a1')?.expected === false ? now : undefined;
    },
    10_000,
    'a reporting agent whose pod is gone to be unexpected',
  );
  t.equal(c.status, 200, 'shown as not expected, never failing');

  const metrics = await (await fetch(`${ex.url}/metrics`)).text();
  t.equal(sample(metrics, 'netchecker_agents_expected{network="host"}'), 1);
  t.equal(sample(metrics, 'netchecker_agents_expected{network="pod"}'), 0);
});

t.test(
  'reporting agents stay ok on NotReady or cordoned nodes and while terminating; pending and unscheduled get reasons and fail',
  async (t) => {
    const kube = await FakeKube.start(t);
    kube.apply('nodes', node('n1'), node('n2'), node('n3'));
    const pods = ['a', 'b', 'c', 'd', 'e', 'f'].map((x) => `netchecker-agent-${x}`);
    kube.apply(
      'pods',
      agentPod('netchecker-agent-a', { node: 'n1' }),
      agentPod('netchecker-agent-b', { node: 'n2' }),
      agentPod('netchecker-agent-c', { node: 'n3' }),
      agentPod('netchecker-agent-d', { node: 'n1', namespace: 'other' }),
      agentPod('netchecker-agent-e', { node: null, phase: 'Pending' }),
      agentPod('netchecker-agent-f', { node: 'n1', phase: 'Pending' }),
    );
    const ex = await startTestExporter(t, [...discoveryArgs(kube), '--startup-grace', '0']);
    await until(ex.url, (s) => Object.keys(s).length === 6, 'six agents');
    for (const name of pods.slice(0, 4)) await send(ex.url, name, 'n');

    kube.update('nodes', 'n2', (n) => {
      n.status = node('n2', { ready: false }).status;
    });
    kube.update('nodes', 'n3', (n) => {
      n.spec = { unschedulable: true };
    });
    kube.update(
      'pods',
      'netchecker-agent-d',
      (p) => {
        p.metadata.deletionTimestamp = new Date().toISOString();
      },
      'other',
    );
    const c = await until(
      ex.url,
      (s) => s['netchecker-agent-f'] === 'pod_not_running' && s['netchecker-agent-d'] === 'ok',
      'node changes seen',
    );
    t.same(
      states(c),
      {
        'netchecker-agent-a': 'ok',
        'netchecker-agent-b': 'ok',
        'netchecker-agent-c': 'ok',
        'netchecker-agent-d': 'ok',
        'netchecker-agent-e': 'not_scheduled',
        'netchecker-agent-f': 'pod_not_running',
      },
      'agents that report are ok, whatever the churn around them',
    );
    t.equal(c.status, 400, 'pods that never ran have no evidence: the check fails, as the original did');
    t.same([c.Absent, c.Outdated], [['netchecker-agent-e', 'netchecker-agent-f'], []]);
    t.match(c.agents.find((a) => a.name === 'netchecker-agent-e')?.reason, /not scheduled/);
  },
);

t.test('silent agents get their reason and fail, except terminating; --failing-states absent,outdated excuses the rest', async (t) => {
  const kube = await FakeKube.start(t);
  kube.apply(
    'nodes',
    node('ready'),
    node('notready', { ready: false }),
    node('cordoned', { cordoned: true }),
    node('unknown', { ready: null }),
  );
  kube.apply(
    'pods',
    agentPod('netchecker-agent-ok', { node: 'ready' }),
    agentPod('netchecker-agent-nr', { node: 'notready' }),
    agentPod('netchecker-agent-co', { node: 'cordoned' }),
    agentPod('netchecker-agent-un', { node: 'unknown' }),
    agentPod('netchecker-agent-te', { node: 'ready', deleting: true }),
    agentPod('netchecker-agent-gone-node', { node: 'deleted-node' }),
  );
  const ex = await startTestExporter(t, [...discoveryArgs(kube), '--startup-grace', '0']);
  let c = await until(ex.url, (s) => Object.keys(s).length === 6, 'six agents');
  t.same(states(c), {
    'netchecker-agent-co': 'node_cordoned',
    'netchecker-agent-gone-node': 'node_not_ready',
    'netchecker-agent-nr': 'node_not_ready',
    'netchecker-agent-ok': 'absent',
    'netchecker-agent-te': 'terminating',
    'netchecker-agent-un': 'node_not_ready',
  });
  t.equal(c.status, 400);
  t.same(
    [c.Absent, c.Outdated],
    [['netchecker-agent-co', 'netchecker-agent-gone-node', 'netchecker-agent-nr', 'netchecker-agent-ok', 'netchecker-agent-un'], []],
    'every silent agent fails but the terminating one',
  );
  t.match(c.agents.find((a) => a.name === 'netchecker-agent-un')?.reason, /node unknown is not Ready: Ready=Unknown \(NodeStatusUnknown\)/);
  const metrics = await (await fetch(`${ex.url}/metrics`)).text();
  t.equal(sample(metrics, 'netchecker_agent_state{agent="netchecker-agent-nr",node="notready",network="pod",state="node_not_ready"}'), 1);
  t.equal(sample(metrics, 'netchecker_agents{network="pod",state="node_not_ready"}'), 3);

  const excusing = await startTestExporter(t, [...discoveryArgs(kube), '--startup-grace', '0', '--failing-states', 'absent,outdated']);
  c = await until(excusing.url, (s) => Object.keys(s).length === 6, 'six agents');
  t.equal(c.status, 400);
  t.same(c.Absent, ['netchecker-agent-ok'], 'only the agent with no excuse fails');
});

t.test('starting: grace from the pod coming up, on the exporter clock', async (t) => {
  const kube = await FakeKube.start(t);
  kube.apply('nodes', node('n1'));
  const clock = new FakeClock();
  const ex = await startTestExporter(t, [...discoveryArgs(kube), '--startup-grace', '30'], clock);
  const tick = async (seconds: number): Promise<Check> => {
    clock.advance(seconds);
    await new Promise((r) => setTimeout(r, 50));
    return check(ex.url);
  };
  await eventually(async () => ((await tick(0)).status === 200 ? true : undefined), 10_000, 'first lists');
  clock.advance(40); // past the exporter's own startup grace
  kube.apply('pods', agentPod('netchecker-agent-new', { node: 'n1', phase: 'Pending' }));
  let c = await eventually(
    async () => {
      const now = await tick(1);
      return states(now)['netchecker-agent-new'] ? now : undefined;
    },
    10_000,
    'the pending pod',
  );
  t.equal(states(c)['netchecker-agent-new'], 'pod_not_running');
  kube.update(
    'pods',
    'netchecker-agent-new',
    (p) => {
      p.status = { phase: 'Running' };
    },
    'netchecker',
  );
  c = await eventually(
    async () => {
      const now = await tick(1);
      return states(now)['netchecker-agent-new'] === 'starting' ? now : undefined;
    },
    10_000,
    'starting',
  );
  t.equal(c.status, 400, 'starting is no evidence: it fails the check');
  t.same(c.Absent, ['netchecker-agent-new']);
  t.match(c.agents[0]?.reason, /pod running \(and node Ready\) for \d+\.\d s; waiting for a report/);
  c = await tick(25);
  t.equal(states(c)['netchecker-agent-new'], 'starting', 'still within 30 s');
  c = await tick(10);
  t.equal(states(c)['netchecker-agent-new'], 'absent', 'grace over');
  t.equal(c.status, 400);

  // The node going NotReady and back restarts the grace for its agents.
  kube.update('nodes', 'n1', (n) => {
    n.status = node('n1', { ready: false }).status;
  });
  await eventually(
    async () => (states(await tick(1))['netchecker-agent-new'] === 'node_not_ready' ? true : undefined),
    10_000,
    'node_not_ready',
  );
  kube.update('nodes', 'n1', (n) => {
    n.status = node('n1').status;
  });
  await eventually(async () => (states(await tick(1))['netchecker-agent-new'] === 'starting' ? true : undefined), 10_000, 'starting again');
  t.pass('node Ready again: starting, not absent');
});

t.test(
  'node churn excuses a silence only if it came first: cut off then NotReady stays outdated; cordoned then silent is churn',
  async (t) => {
    const kube = await FakeKube.start(t);
    kube.apply('nodes', node('n1'), node('n2'));
    kube.apply(
      'pods',
      agentPod('netchecker-agent-cut', { node: 'n1' }),
      agentPod('netchecker-agent-drained', { node: 'n2' }),
      agentPod('netchecker-agent-silent', { node: 'n2' }),
    );
    const clock = new FakeClock();
    const ex = await startTestExporter(t, [...discoveryArgs(kube), '--startup-grace', '0'], clock);
    await until(ex.url, (s) => Object.keys(s).length === 3, 'the three pods');
    await send(ex.url, 'netchecker-agent-cut', 'n1');
    await send(ex.url, 'netchecker-agent-drained', 'n2');
    // A drain cordons the node first; its agents still report.
    kube.apply('nodes', node('n2', { cordoned: true }));
    // The verdict is recomputed once a second of the exporter's clock: one second per poll.
    const poll = (want: (s: Record<string, string>) => boolean, what: string): Promise<Check> =>
      eventually(
        async () => {
          clock.advance(1);
          const now = await check(ex.url);
          return want(states(now)) ? now : undefined;
        },
        10_000,
        what,
      );
    let c = await poll((s) => s['netchecker-agent-silent'] === 'node_cordoned', 'the cordon seen');
    t.same([states(c)['netchecker-agent-cut'], states(c)['netchecker-agent-drained']], ['ok', 'ok']);
    await send(ex.url, 'netchecker-agent-drained', 'n2'); // it reports on after the cordon
    // Both go silent (n1 cut off, n2 rebooting); a little later both nodes turn NotReady.
    clock.advance(121);
    c = await check(ex.url);
    t.same([states(c)['netchecker-agent-cut'], states(c)['netchecker-agent-drained']], ['outdated', 'node_cordoned']);
    kube.apply('nodes', node('n1', { ready: null }), node('n2', { cordoned: true, ready: null }));
    c = await poll((s) => s['netchecker-agent-drained'] === 'node_not_ready', 'the NotReady seen');
    t.equal(states(c)['netchecker-agent-cut'], 'outdated', 'silent before its node went NotReady: still network evidence');
    t.match(
      c.agents.find((a) => a.name === 'netchecker-agent-cut')?.reason,
      /silent before this began: node n1 is not Ready: Ready=Unknown/,
    );
  },
);

t.test('evidence only: an expected agent passes with a fresh report, never without', async (t) => {
  const kube = await FakeKube.start(t);
  kube.apply('nodes', node('n1'), node('n2'));
  kube.apply('pods', agentPod('netchecker-agent-a', { node: 'n1' }), agentPod('netchecker-agent-b', { node: 'n2' }));
  const ex = await startTestExporter(t, discoveryArgs(kube));
  let c = await until(ex.url, (s) => Object.keys(s).length === 2, 'two Running Ready pods');
  t.same(
    [c.status, c.Absent, c.Outdated],
    [400, ['netchecker-agent-a', 'netchecker-agent-b'], []],
    'neither reported: both Absent, even within the startup grace',
  );
  await send(ex.url, 'netchecker-agent-a', 'n1');
  c = await check(ex.url);
  t.same([c.status, c.Absent, states(c)['netchecker-agent-a']], [400, ['netchecker-agent-b'], 'ok'], 'one reported: the other is Absent');
  await send(ex.url, 'netchecker-agent-b', 'n2');
  c = await check(ex.url);
  t.same([c.status, c.Message], [200, 'All 2 pods successfully reported back to the server']);

  kube.apply('pods', agentPod('netchecker-agent-u', { node: null, daemonSetNode: 'n3', phase: 'Pending' }));
  c = await until(ex.url, (s) => s['netchecker-agent-u'] === 'not_scheduled', 'the unscheduled pod');
  t.same([c.status, c.Absent], [400, ['netchecker-agent-u']], 'a pod not scheduled fails (the original answered 400)');
  t.match(
    c.agents.find((a) => a.name === 'netchecker-agent-u'),
    { node: 'n3', reason: 'pod is not scheduled to node n3 yet: Unschedulable' },
    'named by its DaemonSet node',
  );
  kube.remove('pods', 'netchecker-agent-u', 'netchecker');

  kube.apply('pods', agentPod('netchecker-agent-t', { node: 'n1', deleting: true }));
  c = await until(ex.url, (s) => s['netchecker-agent-t'] === 'terminating' && !('netchecker-agent-u' in s), 'the terminating pod');
  t.same(
    [c.status, c.Message],
    [200, 'All 2 pods successfully reported back to the server'],
    'a pod being deleted is excused, and not counted',
  );
});

t.test('agent faults: a crash-looping or not Ready agent is agent_not_ready, a Ready silent one is network evidence', async (t) => {
  const kube = await FakeKube.start(t);
  kube.apply('nodes', node('n1'), node('n2'));
  kube.apply('pods', agentPod('netchecker-agent-a', { node: 'n1' }), agentPod('netchecker-agent-b', { node: 'n2' }));
  const ex = await startTestExporter(t, [...discoveryArgs(kube), '--startup-grace', '0']);
  await until(ex.url, (s) => Object.keys(s).length === 2, 'two pods');
  await send(ex.url, 'netchecker-agent-a', 'n1');

  kube.setPodStatus('netchecker-agent-b', 'netchecker', 'Running', { waiting: 'CrashLoopBackOff', restarts: 5, lastTerminated: 'Error' });
  let c = await until(ex.url, (s) => s['netchecker-agent-b'] === 'agent_not_ready', 'agent_not_ready');
  t.match(
    c.agents.find((a) => a.name === 'netchecker-agent-b'),
    { node: 'n2', reason: 'agent container waiting: CrashLoopBackOff, 5 restarts, last exit Error' },
  );
  t.same([c.status, c.Absent], [400, ['netchecker-agent-b']], 'an agent fault still fails the check');
  let metrics = await (await fetch(`${ex.url}/metrics`)).text();
  t.equal(sample(metrics, 'netchecker_agent_state{agent="netchecker-agent-b",node="n2",network="pod",state="agent_not_ready"}'), 1);
  t.equal(sample(metrics, 'netchecker_agents{network="pod",state="agent_not_ready"}'), 1);

  kube.setPodStatus('netchecker-agent-b', 'netchecker', 'Pending', { waiting: 'ImagePullBackOff' });
  c = await until(ex.url, (s) => s['netchecker-agent-b'] === 'pod_not_running', 'pod_not_running');
  t.equal(
    c.agents.find((a) => a.name === 'netchecker-agent-b')?.reason,
    'pod Pending, not Running; agent container waiting: ImagePullBackOff',
  );

  kube.setPodStatus('netchecker-agent-b', 'netchecker', 'Running', { ready: false, restarts: 3 });
  c = await until(ex.url, (s) => s['netchecker-agent-b'] === 'agent_not_ready', 'readiness failing');
  t.equal(c.agents.find((a) => a.name === 'netchecker-agent-b')?.reason, 'agent container not ready, 3 restarts');

  kube.setPodStatus('netchecker-agent-b', 'netchecker', 'Running', { restarts: 3 });
  c = await until(ex.url, (s) => s['netchecker-agent-b'] === 'absent', 'Ready but silent');
  t.same([c.status, c.Absent], [400, ['netchecker-agent-b']], 'Ready yet silent: network evidence');
  metrics = await (await fetch(`${ex.url}/metrics`)).text();
  t.equal(sample(metrics, 'netchecker_agents{network="pod",state="agent_not_ready"}'), 0);
});

t.test('--namespace and --agent-selector choose the pods; a relabelled pod leaves the set', async (t) => {
  const kube = await FakeKube.start(t);
  kube.apply('nodes', node('n1'));
  kube.apply(
    'pods',
    agentPod('netchecker-agent-here', { node: 'n1', namespace: 'netchecker' }),
    agentPod('netchecker-agent-there', { node: 'n1', namespace: 'elsewhere' }),
    agentPod('custom-agent', { node: 'n1', namespace: 'netchecker', app: 'my-agent' }),
  );
  const ns = await startTestExporter(t, [...discoveryArgs(kube), '--startup-grace', '0', '--namespace', 'netchecker']);
  let c = await until(ns.url, (s) => Object.keys(s).length > 0, 'the namespaced set');
  t.same(Object.keys(states(c)), ['netchecker-agent-here'], 'only the namespace asked for');
  t.ok(
    kube.requests().every((r) => r.resource !== 'pods' || r.namespace === 'netchecker'),
    'pods are only read in that namespace',
  );

  const custom = await startTestExporter(t, [...discoveryArgs(kube), '--startup-grace', '0', '--agent-selector', 'app=my-agent']);
  c = await until(custom.url, (s) => Object.keys(s).length > 0, 'the custom selector');
  t.same(Object.keys(states(c)), ['custom-agent']);

  kube.update(
    'pods',
    'custom-agent',
    (p) => {
      p.metadata.labels = { app: 'retired' };
    },
    'netchecker',
  );
  c = await until(custom.url, (s) => Object.keys(s).length === 0, 'the relabelled pod to leave');
  t.equal(c.status, 200, 'nothing expected, nothing fails');
});

t.test(
  "the RBAC of deploy/ (pods only in the agents' namespace): NETCHECKER_NAMESPACE reads them there; without it the check names what is denied",
  async (t) => {
    const kube = await FakeKube.start(t);
    kube.apply('nodes', node('n1'));
    kube.apply(
      'pods',
      agentPod('netchecker-agent-here', { node: 'n1', namespace: 'netchecker' }),
      agentPod('netchecker-agent-there', { node: 'n1', namespace: 'default' }),
    );
    kube.forbid('pods', undefined, 'cluster'); // a Role in netchecker, no ClusterRole for pods
    const deployed = await startTestExporter(t, [...discoveryArgs(kube), '--startup-grace', '0'], undefined, {
      NETCHECKER_NAMESPACE: 'netchecker',
    });
    const c = await until(deployed.url, (s) => s['netchecker-agent-here'] === 'absent', 'the agent pod in its namespace');
    t.same(Object.keys(states(c)), ['netchecker-agent-here'], "only the agents' namespace, listed and watched there");
    const pods = kube.requests().filter((r) => r.resource === 'pods');
    t.ok(
      pods.some((r) => r.verb === 'watch') && pods.every((r) => r.namespace === 'netchecker' && r.status === 200),
      'every pod request is namespaced and allowed',
    );

    const clusterWide = await startTestExporter(t, [...discoveryArgs(kube), '--startup-grace', '0']);
    const denied = await eventually(
      async () => {
        const res = await fetch(`${clusterWide.url}/api/v1/connectivity_check`);
        const text = await res.text();
        return res.status === 500 && text.includes('403') ? text : undefined;
      },
      10_000,
      'the cluster-wide exporter to be refused',
    );
    t.match(denied, /denies list pods at the cluster scope \(403 Forbidden\)/);
  },
);

t.test('over HTTPS with the certificate authority from the kubeconfig, as in a cluster', async (t) => {
  const kube = await FakeKube.start(t, { tls: true });
  t.match(kube.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  kube.apply('nodes', node('n1'));
  kube.apply('pods', agentPod('netchecker-agent-tls', { node: 'n1' }));
  const ex = await startTestExporter(t, [...discoveryArgs(kube), '--startup-grace', '0']);
  const c = await until(ex.url, (s) => s['netchecker-agent-tls'] === 'absent', 'the pod over TLS');
  t.equal(c.status, 400);
  kube.remove('pods', 'netchecker-agent-tls', 'netchecker');
  await until(ex.url, (s) => Object.keys(s).length === 0, 'the watch over TLS');
  t.equal((await fetch(`${ex.url}/readyz`)).status, 200);
});
