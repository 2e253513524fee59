// Kubernetes discovery: the expected agents are the agent pods (label selector, all namespaces or
// one), each with the churn or agent-fault reason its pod and node give. Two informers (pods, nodes) keep the
// objects in memory; the expected set is rebuilt once per batch of events, never per request,
// so connectivity_check and /metrics never call the API.

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { FlagError, fileError } from '../../lib/flags.js';
import type { Logger } from '../../lib/log.js';
import type { Discovery, ExpectedAgent } from './discovery.js';
import { type Backoff, DEFAULT_BACKOFF, WatchedResource } from './informer.js';
import { churnOf, isUp, type NodeFacts, nodeFacts, podFacts, slimNode, slimPod } from './reasons.js';

export interface KubernetesOptions {
  /** Empty: all namespaces. */
  readonly namespace: string;
  readonly agentSelector: string;
  readonly log: Logger;
  /** The exporter's monotonic clock, in ms: the `starting` grace counts on it. */
  readonly monoMs: () => number;
  readonly backoff?: Backoff;
}

/** Loads the client configuration; throws a readable error when there is none (a FlagError for a bad --kubeconfig). */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const { env } = process; // the library reads KUBECONFIG and the in-cluster variables from here too
  const kc = new KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else if (env.KUBECONFIG || existsSync(join(homedir(), '.kube', 'config'))) kc.loadFromDefault();
    else if (env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
    else throw new Error('no kubeconfig: pass --kubeconfig, set KUBECONFIG, or run in a pod with a service account');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (path) throw err.code ? fileError('--kubeconfig', path, err) : new FlagError(`--kubeconfig ${path}: ${err.message.split('\n')[0]}`);
    throw new Error(
      `Kubernetes client configuration: ${err.code === 'ENOENT' ? `${err.path} does not exist` : err.message.split('\n')[0]}`,
    );
  }
  if (!kc.getCurrentCluster()) throw new Error('Kubernetes client configuration: no current cluster (check current-context)');
  return kc;
}

export class KubernetesDiscovery implements Discovery {
  readonly #o: KubernetesOptions;
  readonly #pods: WatchedResource;
  readonly #nodes: WatchedResource;
  #expected: ReadonlyMap<string, ExpectedAgent> | null = null;
  /** `namespace/name` -> the agent pod object, rebuilt with the expected set (for --auth kubernetes). */
  #podsByKey: ReadonlyMap<string, unknown> = new Map();
  /** Pod uid -> exporter time the pod was first seen up (running and Ready, on a Ready node, not deleting). */
  #upSince = new Map<string, number>();
  /** Node name -> exporter time the node was first seen NotReady or cordoned (-Infinity: already at the first list). */
  #nodeChurnSince = new Map<string, number>();
  #scheduled = false;

  constructor(kc: KubeConfig, options: KubernetesOptions) {
    this.#o = options;
    const api = kc.makeApiClient(CoreV1Api);
    const { namespace, agentSelector: labelSelector } = options;
    const backoff = options.backoff ?? DEFAULT_BACKOFF;
    const onChange = (): void => this.#schedule();
    this.#pods = new WatchedResource(
      kc,
      {
        resource: 'pods',
        scope: namespace ? `in namespace ${namespace}` : 'at the cluster scope',
        path: namespace ? `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods` : '/api/v1/pods',
        labelSelector,
        list: namespace
          ? (page) => api.listNamespacedPod({ namespace, labelSelector, ...page })
          : (page) => api.listPodForAllNamespaces({ labelSelector, ...page }),
        slim: slimPod,
      },
      options.log,
      onChange,
      backoff,
    );
    this.#nodes = new WatchedResource(
      kc,
      { resource: 'nodes', scope: 'at the cluster scope', path: '/api/v1/nodes', list: (page) => api.listNode(page), slim: slimNode },
      options.log,
      onChange,
      backoff,
    );
    this.#pods.start();
    this.#nodes.start();
  }

  /** Null until both lists have arrived (connectivity_check answers 500 until then, see error()). */
  expected(): ReadonlyMap<string, ExpectedAgent> | null {
    return this.#expected;
  }

  /** Ready while both informers hold a list and neither is failing: /readyz tells the truth. */
  ready(): boolean {
    return this.#expected !== null && this.#pods.failure() === null && this.#nodes.failure() === null;
  }

  /** Forbidden always (a verdict would rest on access we do not have); otherwise only before the first lists. */
  error(): string | null {
    const failures = [this.#pods.failure(), this.#nodes.failure()];
    const forbidden = failures.find((f) => f?.forbidden);
    if (forbidden) return forbidden.message;
    if (this.#expected !== null) return null; // an outage: serve the last known set
    const cause = failures.find((f) => f !== null);
    return `waiting for the first list of agent pods and nodes from the Kubernetes API${cause ? `: ${cause.message}` : ''}`;
  }

  pod(namespace: string, name: string): unknown {
    return this.#podsByKey.get(`${namespace}/${name}`);
  }

  async close(): Promise<void> {
    await Promise.all([this.#pods.stop(), this.#nodes.stop()]);
  }

  /** Events come in bursts (a list is one event per object): rebuild once per burst. */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#rebuild();
    });
  }

  #rebuild(): void {
    if (!this.#pods.synced() || !this.#nodes.synced()) return;
    const now = this.#o.monoMs();
    const nodes = new Map<string, NodeFacts>();
    const nodeChurnSince = new Map<string, number>();
    const first = this.#expected === null;
    for (const obj of this.#nodes.objects()) {
      const node = nodeFacts(obj);
      if (!node) continue;
      nodes.set(node.name, node);
      if (node.ready !== 'True' || node.cordoned)
        nodeChurnSince.set(node.name, this.#nodeChurnSince.get(node.name) ?? (first ? -Infinity : now));
    }
    const expected = new Map<string, ExpectedAgent>();
    const upSince = new Map<string, number>();
    const byKey = new Map<string, unknown>();
    for (const obj of this.#pods.objects()) {
      const pod = podFacts(obj);
      if (pod) byKey.set(`${pod.namespace}/${pod.name}`, obj);
      // The agent's identity is its pod name; a same-named pod in a second namespace is one agent.
      if (!pod || expected.has(pod.name)) continue;
      const node = nodes.get(pod.nodeName);
      const reason = churnOf(pod, node);
      const nodeSince = nodeChurnSince.get(pod.nodeName);
      const churn =
        reason && nodeSince !== undefined && (reason.reason === 'node_not_ready' || reason.reason === 'node_cordoned')
          ? { ...reason, sinceMonoMs: nodeSince }
          : reason;
      let since: number | undefined;
      if (isUp(pod, node)) upSince.set(pod.uid, (since = this.#upSince.get(pod.uid) ?? now));
      expected.set(pod.name, {
        name: pod.name,
        // A DaemonSet pod not bound yet still names its node, so an agent fault names it too.
        node: pod.nodeName || pod.intendedNode || undefined,
        network: pod.network,
        addresses: pod.addresses,
        ...(churn ? { churn } : {}),
        ...(since !== undefined ? { sinceMonoMs: since } : {}),
      });
    }
    this.#upSince = upSince;
    this.#nodeChurnSince = nodeChurnSince;
    this.#podsByKey = byKey;
    this.#expected = expected;
  }
}
