// Pure parts of Kubernetes discovery: objects -> facts, pod + node -> churn reason, label selectors.
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
    ['pending on a cordoned node: the pod is the better reason', { node: 'n1', phase: 'Pending' }, node('n1', { cordoned: true }), 'pod_not_running'],
    ['running on a cordoned node', { node: 'n1' }, node('n1', { cordoned: true }), 'node_cordoned'],
  ];
  for (const [what, pod, n, reason] of table) {
    const p = podFacts(agentPod('netchecker-agent-x', pod));
    t.ok(p, `${what}: pod parses`);
    if (!p) continue;
    const nf = n ? nodeFacts(n) ?? undefined : undefined;
    t.equal(churnOf(p, nf)?.reason ?? null, reason, what);
  }
});

t.test('reasons carry a sentence naming the node or phase', async (t) => {
  const p = podFacts(agentPod('netchecker-agent-x', { node: 'n1' }));
  t.match(p && churnOf(p, nodeFacts(node('n1', { ready: false })) ?? undefined)?.detail, /node n1 is not Ready: Ready=False \(KubeletNotReady\)/);
  const pending = podFacts(agentPod('netchecker-agent-x', { node: 'n1', phase: 'Pending' }));
  t.match(pending && churnOf(pending, nodeFacts(node('n1')) ?? undefined)?.detail, /pod phase is Pending/);
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
  for (const bad of ['app in (a', 'app in a)', 'app = = b', 'Bad Key=x', 'app=has space', '=x', 'app in (a,b', 'x'.repeat(5000), '-app=x']) {
    t.notOk(parseSelector(bad).ok, `refused: ${bad.slice(0, 30)}`);
  }
});

t.test('the informers keep only what the facts read: the same facts from the slim objects', async (t) => {
  const pod = {
    metadata: { name: 'netchecker-agent-x', namespace: 'netchecker', uid: 'u1', resourceVersion: '7', deletionTimestamp: new Date(0), labels: { app: 'a' }, managedFields: [{ manager: 'kubelet' }] },
    spec: { nodeName: 'n1', hostNetwork: true, containers: [{ name: 'agent', image: 'netchecker' }], volumes: [{ name: 'token' }] },
    status: { phase: 'Running', podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }], hostIP: '10.0.0.1', startTime: 'x', containerStatuses: [{ ready: true }] },
  };
  const node = {
    metadata: { name: 'n1', resourceVersion: '9', annotations: { a: 'b' } },
    spec: { unschedulable: true, podCIDR: '10.0.0.0/24' },
    status: { conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'long text' }], images: [{ names: ['x'] }] },
  };
  t.same(podFacts(slimPod(pod)), podFacts(pod));
  t.same(nodeFacts(slimNode(node)), nodeFacts(node));
  t.same(slimPod(pod), {
    metadata: { name: 'netchecker-agent-x', namespace: 'netchecker', uid: 'u1', resourceVersion: '7', deletionTimestamp: new Date(0) },
    spec: { nodeName: 'n1', hostNetwork: true },
    status: { phase: 'Running', podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }], hostIP: '10.0.0.1' },
  });
  t.same(podFacts(pod)?.addresses, ['10.0.0.1'], 'the IPs, once each');
  t.same(slimNode(node), { metadata: { name: 'n1', resourceVersion: '9' }, spec: { unschedulable: true }, status: { conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady' }] } });
});
