// The fake Kubernetes API in a process of its own, so that a benchmark's exporters do not share a
// CPU budget with it inside the bench process: forked with an IPC channel, it answers
// { agents } with its kubeconfig path once the agent pods and nodes are in, and { count } with
// the AgentShard writes (create and update) it has answered so far.

import { agentPod, FakeKube, node } from '../test/helpers/fake-kube.js';

type Ask = { agents: number } | { count: true };

const kube = await FakeKube.start();
process.on('message', (m: Ask) => {
  if ('agents' in m) {
    for (let i = 0; i < m.agents / 2; i++) kube.apply('nodes', node(`node-${i}`));
    for (let i = 0; i < m.agents; i++)
      kube.apply('pods', agentPod(`bench-agent-${i}`, { node: `node-${i >> 1}`, hostNetwork: i % 2 === 1 }));
    process.send?.({ kubeconfig: kube.kubeconfigPath });
  } else {
    const writes = kube.count({ verb: 'create', resource: 'agentshards' }) + kube.count({ verb: 'update', resource: 'agentshards' });
    const largest = Math.max(0, ...kube.list('agentshards').map((o) => Buffer.byteLength(JSON.stringify(o))));
    process.send?.({ writes, largest });
  }
});
process.on('disconnect', () => void kube.close().then(() => process.exit(0)));
