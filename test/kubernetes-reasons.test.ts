// Pure parts of Kubernetes discovery: objects -> facts, pod + node -> churn or agent-fault
// reason, label selectors.
import t from 'tap';
import { churnOf, isUp, nodeFacts, podFacts, slimNode, slimPod } from '../exporter/discovery/reasons.js';
import { matches, parseSelector } from '../exporter/discovery/selector.js';
import { DEFAULT_AGENT_SELECTOR } from '../exporter/discovery/kubernetes-config.js';
import { agentPod, node } from './helpers/fake-kube.js';

t.test('pod + node -> reason, most specific first', async (t) => {
  const table: Array<[string, Parameters<typeof agentPod>[1], ReturnType<typeof node> | null, string | null]> = [
    ['running on a Ready node', { node: 'n1' }, node('n1'), null],
    ['being deleted wins over everything', { node: 'n1', deleting: true, phase: 'Pending' }, node('n1', { ready: false }), 'terminating'],
    ['not bound to a node', { node: null, phase: 'Pending' }, null, 'not_scheduled'],
    ['node gone from the API', { node: 'n9' }, null, 'node_not_ready'],
    ['node NotReady', { node: 'n1' }, node('n1', { ready: false }), 'node_not_ready'],
    ['node status Unknown (kubelet silent)', { node: 'n1' }, node('n1', { ready: null }), 'node_not_ready'],
    ['pod Pending on a Ready node', { node: 'n1', phase: 'Pending' }, node('n1'), 'pod_not_running'],
    ['pod Failed', { node: 'n1', phase: 'Failed' }, node('n1'), 'pod_not_running'],
    [
      'pending on a cordoned node: the pod is the better reason',
      { node: 'n1', phase: 'Pending' },
      node('n1', { cordoned: true }),
      'pod_not_running',
    ],
    ['running on a cordoned node', { node: 'n1' }, node('n1', { cordoned: true }), 'node_cordoned'],
    [
      'Pending, image cannot be pulled',
      { node: 'n1', phase: 'Pending', container: { waiting: 'ImagePullBackOff' } },
      node('n1'),
      'pod_not_running',
    ],
    [
      'Running, agent crash-looping',
      { node: 'n1', container: { waiting: 'CrashLoopBackOff', restarts: 5 } },
      node('n1'),
      'agent_not_ready',
    ],
    ['Running, readiness failing', { node: 'n1', container: { ready: false } }, node('n1'), 'agent_not_ready'],
    [
      'Running and Ready after restarts: no fault',
      { node: 'n1', container: { restarts: 3, lastTerminated: 'OOMKilled' } },
      node('n1'),
      null,
    ],
    [
      'agent not Ready on a cordoned node: the agent is the better reason',
      { node: 'n1', container: { ready: false } },
      node('n1', { cordoned: true }),
      'agent_not_ready',
    ],
    [
      'agent not Ready on a NotReady node: the node explains it',
      { node: 'n1', container: { ready: false } },
      node('n1', { ready: false }),
      'node_not_ready',
    ],
    [
      'crash-looping pod being deleted',
      { node: 'n1', deleting: true, container: { waiting: 'CrashLoopBackOff' } },
      node('n1'),
      'terminating',
    ],
  ];
  for (const [what, pod, n, reason] of table) {
    const p = podFacts(agentPod('netchecker-agent-x', pod));
    t.ok(p, `${what}: pod parses`);
    if (!p) continue;
    const nf = n ? (nodeFacts(n) ?? undefined) : undefined;
    t.equal(churnOf(p, nf)?.reason ?? null, reason, what);
  }
});

t.test('reasons say concretely why, naming the node, phase, container state and restarts', async (t) => {
  const table: Array<[string, Parameters<typeof agentPod>[1], ReturnType<typeof node> | null, RegExp]> = [
    ['node NotReady', { node: 'n1' }, node('n1', { ready: false }), /^node n1 is not Ready: Ready=False \(KubeletNotReady\)$/],
    [
      'Pending, no container status',
      { node: 'n1', phase: 'Pending' },
      node('n1'),
      /^pod Pending, not Running; agent container waiting: ContainerCreating$/,
    ],
    [
      'ImagePullBackOff',
      { node: 'n1', phase: 'Pending', container: { waiting: 'ImagePullBackOff' } },
      node('n1'),
      /^pod Pending, not Running; agent container waiting: ImagePullBackOff$/,
    ],
    [
      'CrashLoopBackOff',
      { node: 'n1', container: { waiting: 'CrashLoopBackOff', restarts: 5, lastTerminated: 'Error' } },
      node('n1'),
      /^agent container waiting: CrashLoopBackOff, 5 restarts, last exit Error$/,
    ],
    ['readiness failing', { node: 'n1', container: { ready: false, restarts: 1 } }, node('n1'), /^agent container not ready, 1 restart$/],
    [
      'unschedulable DaemonSet pod names its node',
      { node: null, daemonSetNode: 'n7', phase: 'Pending' },
      null,
      /^pod is not scheduled to node n7 yet: Unschedulable$/,
    ],
    ['unschedulable, no affinity', { node: null, phase: 'Pending' }, null, /^pod is not scheduled to a node yet: Unschedulable$/],
  ];
  for (const [what, pod, n, want] of table) {
    const p = podFacts(agentPod('netchecker-agent-x', pod));
    t.match(p && churnOf(p, n ? (nodeFacts(n) ?? undefined) : undefined)?.detail, want, what);
  }
  // Only the Ready condition known (no container statuses): the pod's word, with its restarts.
  const bare = podFacts({
    metadata: { name: 'a' },
    spec: { nodeName: 'n1' },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }] },
  });
  t.match(bare && churnOf(bare, nodeFacts(node('n1')) ?? undefined), {
    reason: 'agent_not_ready',
    detail: 'pod not Ready (ContainersNotReady)',
  });
  const silent = podFacts({ metadata: { name: 'a' }, spec: { nodeName: 'n1' }, status: { phase: 'Running' } });
  t.equal(silent && churnOf(silent, nodeFacts(node('n1')) ?? undefined), null, 'nothing reported by kubelet: no agent fault claimed');
});

t.test('intended node: from the DaemonSet node affinity, only while the pod is not bound', async (t) => {
  t.equal(podFacts(agentPod('a', { node: null, daemonSetNode: 'n3', phase: 'Pending' }))?.intendedNode, 'n3');
  t.equal(podFacts(agentPod('a', { node: 'n1' }))?.intendedNode, '', 'bound: spec.nodeName says it');
  const odd = (matchFields: unknown): string | undefined =>
    podFacts({
      metadata: { name: 'a' },
      spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields }] } } } },
    })?.intendedNode;
  t.equal(odd([{ key: 'metadata.name', operator: 'NotIn', values: ['n1'] }]), '');
  t.equal(odd([{ key: 'metadata.name', operator: 'In', values: ['n1', 'n2'] }]), '', 'more than one node: none in particular');
  t.equal(odd('junk'), '');
});

t.test('podFacts: network from spec.hostNetwork, dates as Date (list) or string (watch), bad objects refused', async (t) => {
  t.equal(podFacts(agentPod('a', { node: 'n1', hostNetwork: true }))?.network, 'host');
  t.equal(podFacts(agentPod('netchecker-agent-hostnet-a', { node: 'n1', hostNetwork: false }))?.network, 'pod', 'spec, not the name rule');
  const listed = agentPod('a', { node: 'n1' }) as unknown as { metadata: Record<string, unknown> };
  listed.metadata.deletionTimestamp = new Date();
  t.equal(podFacts(listed)?.deleting, true, 'a Date from a deserialized list');
  t.equal(podFacts(agentPod('a', { node: 'n1', deleting: true }))?.deleting, true, 'a string from a watch event');
  for (const bad of [null, 'pod', [], {}, { metadata: { name: 'Bad_Name' } }, { metadata: { name: 7 } }, { metadata: { name: 'a/b' } }]) {
    t.equal(podFacts(bad), null, JSON.stringify(bad));
  }
  t.same(nodeFacts({ metadata: { name: 'n1' } }), { name: 'n1', ready: '', readyReason: '', cordoned: false }, 'no conditions: not Ready');
  t.equal(nodeFacts({ metadata: {} }), null);
});

t.test('isUp: running, on a Ready node, not deleting', async (t) => {
  const up = (o: Parameters<typeof agentPod>[1], n = node('n1')): boolean => {
    const p = podFacts(agentPod('a', o));
    return p !== null && isUp(p, nodeFacts(n) ?? undefined);
  };
  t.equal(up({ node: 'n1' }), true);
  t.equal(up({ node: 'n1' }, node('n1', { cordoned: true })), true, 'cordoned nodes still run agents');
  t.equal(up({ node: 'n1', phase: 'Pending' }), false);
  t.equal(up({ node: 'n1', deleting: true }), false);
  t.equal(up({ node: 'n1' }, node('n1', { ready: false })), false);
  t.equal(up({ node: 'n1', container: { ready: false } }), false, 'the grace counts from the agent being Ready');
  t.equal(up({ node: 'n1', container: { waiting: 'CrashLoopBackOff' } }), false);
});

t.test('label selectors: the syntax kubectl -l accepts', async (t) => {
  const labels = { app: 'netchecker-agent', tier: 'x' };
  const table: Array<[string, boolean]> = [
    [DEFAULT_AGENT_SELECTOR, true],
    ['app in (netchecker-agent-hostnet)', false],
    ['app=netchecker-agent', true],
    ['app==netchecker-agent,tier=x', true],
    ['app!=netchecker-agent', false],
    ['app notin (a,b)', true],
    ['tier', true],
    ['!tier', false],
    ['missing', false],
    ['!missing', true],
    ['example.com/role in ( a , b ), app', false],
  ];
  for (const [text, want] of table) {
    const s = parseSelector(text);
    t.ok(s.ok, `${text} parses`);
    if (s.ok) t.equal(matches(s.value, labels), want, text);
  }
  for (const bad of [
    'app in (a',
    'app in a)',
    'app = = b',
    'Bad Key=x',
    'app=has space',
    '=x',
    'app in (a,b',
    'x'.repeat(5000),
    '-app=x',
  ]) {
    t.notOk(parseSelector(bad).ok, `refused: ${bad.slice(0, 30)}`);
  }
});

t.test('the informers keep only what the facts read: the same facts from the slim objects', async (t) => {
  const pod = {
    metadata: {
      name: 'netchecker-agent-x',
      namespace: 'netchecker',
      uid: 'u1',
      resourceVersion: '7',
      deletionTimestamp: new Date(0),
      labels: { app: 'a' },
      managedFields: [{ manager: 'kubelet' }],
    },
    spec: { nodeName: 'n1', hostNetwork: true, containers: [{ name: 'agent', image: 'netchecker' }], volumes: [{ name: 'token' }] },
    status: {
      phase: 'Running',
      podIP: '10.0.0.1',
      podIPs: [{ ip: '10.0.0.1' }],
      hostIP: '10.0.0.1',
      startTime: 'x',
      conditions: [
        { type: 'Initialized', status: 'True' },
        {
          type: 'Ready',
          status: 'False',
          reason: 'ContainersNotReady',
          message: 'containers with unready status: [agent]',
          lastTransitionTime: new Date(0),
        },
      ],
      containerStatuses: [
        {
          name: 'agent',
          ready: false,
          restartCount: 4,
          image: 'netchecker',
          imageID: 'sha256:x',
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' } },
          lastState: { terminated: { reason: 'Error', exitCode: 1, startedAt: new Date(0) } },
        },
      ],
    },
  };
  const node = {
    metadata: { name: 'n1', resourceVersion: '9', annotations: { a: 'b' } },
    spec: { unschedulable: true, podCIDR: '10.0.0.0/24' },
    status: {
      conditions: [
        { type: 'MemoryPressure', status: 'False' },
        { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'long text' },
      ],
      images: [{ names: ['x'] }],
    },
  };
  t.same(podFacts(slimPod(pod)), podFacts(pod));
  t.same(nodeFacts(slimNode(node)), nodeFacts(node));
  t.same(slimPod(pod), {
    metadata: { name: 'netchecker-agent-x', namespace: 'netchecker', uid: 'u1', resourceVersion: '7', deletionTimestamp: new Date(0) },
    spec: { nodeName: 'n1', hostNetwork: true },
    status: {
      phase: 'Running',
      podIP: '10.0.0.1',
      podIPs: [{ ip: '10.0.0.1' }],
      hostIP: '10.0.0.1',
      conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }],
      containerStatuses: [
        {
          name: 'agent',
          ready: false,
          restartCount: 4,
          state: { waiting: { reason: 'CrashLoopBackOff' } },
          lastState: { terminated: { reason: 'Error' } },
        },
      ],
    },
  });
  t.same(podFacts(pod)?.addresses, ['10.0.0.1'], 'the IPs, once each');
  t.same(slimNode(node), {
    metadata: { name: 'n1', resourceVersion: '9' },
    spec: { unschedulable: true },
    status: { conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady' }] },
  });

  // A DaemonSet pod the scheduler has not placed: the slim object keeps its node and why.
  const pending = agentPod('netchecker-agent-p', { node: null, daemonSetNode: 'n5', phase: 'Pending' });
  t.same(podFacts(slimPod(pending)), podFacts(pending));
  t.same(slimPod(pending).status, {
    phase: 'Pending',
    conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }],
    containerStatuses: [],
  });
  t.same(Object.keys(slimPod(agentPod('a', { node: 'n1' })).spec ?? {}), ['nodeName', 'hostNetwork'], 'a bound pod keeps no affinity');
});
