// Pure: Kubernetes objects (as `unknown`, from a list or a watch event) -> the facts discovery
// needs, and pod + node facts -> the reason that explains an agent's silence: churn (the pod or
// node is going away or coming up) or an agent fault (the agent pod itself does not run or is not
// Ready, as kubelet reports it). No I/O. List results arrive deserialized (dates as Date), watch
// events as raw JSON (dates as strings): both are accepted.

import type { Network } from '../../report/schema.js';
import { isValidAgentName } from '../../report/schema.js';
import type { ChurnReason } from './discovery.js';

/** What kubelet reports of one container: enough to say why an agent is down. */
export interface ContainerFacts {
  readonly name: string;
  readonly ready: boolean;
  readonly restarts: number;
  /** state.waiting.reason, e.g. CrashLoopBackOff, ImagePullBackOff, ContainerCreating; '' when not waiting. */
  readonly waiting: string;
  /** lastState.terminated.reason, e.g. Error, OOMKilled; '' when none. */
  readonly lastTerminated: string;
}

export interface PodFacts {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  /** Empty until the scheduler binds the pod. */
  readonly nodeName: string;
  /** The node a DaemonSet pod is meant for (its node affinity), when it is not bound yet; else ''. */
  readonly intendedNode: string;
  readonly network: Network;
  /** Pending, Running, Succeeded, Failed or Unknown (empty when the API left it out). */
  readonly phase: string;
  readonly deleting: boolean;
  /** IPs the agent in this pod owns: status.podIPs (for a hostNetwork pod also status.hostIPs, the node's); [] until assigned. */
  readonly addresses: readonly string[];
  /** The pod's Ready condition: True, False, Unknown, or '' when kubelet has not reported it. */
  readonly ready: string;
  readonly readyReason: string;
  /** The PodScheduled condition's reason when it is False, e.g. Unschedulable; else ''. */
  readonly unschedulable: string;
  readonly containers: readonly ContainerFacts[];
}

export interface NodeFacts {
  readonly name: string;
  /** The Ready condition's status: True, False, Unknown, or '' when missing. */
  readonly ready: string;
  /** The Ready condition's reason, e.g. KubeletNotReady or NodeStatusUnknown. */
  readonly readyReason: string;
  readonly cordoned: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const field = (v: unknown, key: string): unknown => (isObject(v) ? v[key] : undefined);
const text = (v: unknown): string => (typeof v === 'string' ? v : '');
const list = (v: unknown): readonly unknown[] => (Array.isArray(v) ? v : []);
const condition = (status: unknown, type: string): unknown => list(field(status, 'conditions')).find((c) => field(c, 'type') === type);

/** Pod facts, or null when the object is not a usable pod (no valid name). */
export function podFacts(obj: unknown): PodFacts | null {
  const meta = field(obj, 'metadata');
  const name = text(field(meta, 'name'));
  if (!isValidAgentName(name)) return null;
  const spec = field(obj, 'spec');
  const status = field(obj, 'status');
  const deletion = field(meta, 'deletionTimestamp');
  const ready = condition(status, 'Ready');
  const scheduled = condition(status, 'PodScheduled');
  const nodeName = text(field(spec, 'nodeName'));
  return {
    uid: text(field(meta, 'uid')) || `${text(field(meta, 'namespace'))}/${name}`,
    name,
    namespace: text(field(meta, 'namespace')),
    nodeName,
    intendedNode: nodeName ? '' : intendedNode(spec),
    network: field(spec, 'hostNetwork') === true ? 'host' : 'pod',
    phase: text(field(status, 'phase')),
    deleting: deletion !== undefined && deletion !== null && deletion !== '',
    addresses: podAddresses(obj),
    ready: text(field(ready, 'status')),
    readyReason: text(field(ready, 'reason')),
    unschedulable: text(field(scheduled, 'status')) === 'False' ? text(field(scheduled, 'reason')) || 'Unschedulable' : '',
    containers: list(field(status, 'containerStatuses')).map(containerFacts),
  };
}

function containerFacts(c: unknown): ContainerFacts {
  const restarts = field(c, 'restartCount');
  return {
    name: text(field(c, 'name')),
    ready: field(c, 'ready') === true,
    restarts: typeof restarts === 'number' && Number.isSafeInteger(restarts) && restarts > 0 ? restarts : 0,
    waiting: text(field(field(field(c, 'state'), 'waiting'), 'reason')),
    lastTerminated: text(field(field(field(c, 'lastState'), 'terminated'), 'reason')),
  };
}

/**
 * The node a DaemonSet pod is for: the DaemonSet controller pins each pod with a required node
 * affinity `matchFields: metadata.name In [node]`; the scheduler sets spec.nodeName only once it
 * fits. '' when the pod carries no such term.
 */
function intendedNode(spec: unknown): string {
  const required = field(field(field(spec, 'affinity'), 'nodeAffinity'), 'requiredDuringSchedulingIgnoredDuringExecution');
  for (const term of list(field(required, 'nodeSelectorTerms'))) {
    for (const m of list(field(term, 'matchFields'))) {
      const values = list(field(m, 'values'));
      if (field(m, 'key') === 'metadata.name' && field(m, 'operator') === 'In' && values.length === 1) return text(values[0]);
    }
  }
  return '';
}

/** The pod's IPs from status (podIP and podIPs, plus hostIP and hostIPs for a hostNetwork pod), without repeats. */
export function podAddresses(pod: unknown): string[] {
  const status = field(pod, 'status');
  const hostNetwork = field(field(pod, 'spec'), 'hostNetwork') === true;
  const ips = (one: string, many: string): string[] => [
    text(field(status, one)),
    ...list(field(status, many)).map((e) => text(field(e, 'ip'))),
  ];
  return [...new Set([...ips('podIP', 'podIPs'), ...(hostNetwork ? ips('hostIP', 'hostIPs') : [])])].filter((ip) => ip !== '');
}

/** Node facts, or null without a name. */
export function nodeFacts(obj: unknown): NodeFacts | null {
  const name = text(field(field(obj, 'metadata'), 'name'));
  if (!name) return null;
  const ready = condition(field(obj, 'status'), 'Ready');
  return {
    name,
    ready: text(field(ready, 'status')),
    readyReason: text(field(ready, 'reason')),
    cordoned: field(field(obj, 'spec'), 'unschedulable') === true,
  };
}

/*
 * What the informers keep of each object: the fields podFacts and nodeFacts (and the report
 * binding) read, plus what the informer itself needs (name, namespace, resourceVersion). A real
 * pod is several KB (managed fields, containers, volumes); at 10,000 pods the full objects were
 * most of the exporter's memory.
 */
const pick = (v: unknown, keys: readonly string[]): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (field(v, k) !== undefined) out[k] = field(v, k);
  return out;
};
const META = ['name', 'namespace', 'uid', 'resourceVersion', 'deletionTimestamp'] as const;
/** The IPs are what a peer address is checked against (exporter/peers/bound.ts). */
const POD_STATUS = ['phase', 'podIP', 'podIPs', 'hostIP', 'hostIPs'] as const;
const CONDITION = ['type', 'status', 'reason'] as const;
const conditions = (status: unknown, types: readonly string[]): Record<string, unknown>[] =>
  list(field(status, 'conditions'))
    .filter((c) => types.includes(text(field(c, 'type'))))
    .map((c) => pick(c, CONDITION));

export function slimPod<T>(obj: T): T {
  const spec = field(obj, 'spec');
  const status = field(obj, 'status');
  const node = field(spec, 'nodeName') ? '' : intendedNode(spec);
  const affinity = {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }],
      },
    },
  };
  const containers = list(field(status, 'containerStatuses')).map((c) => {
    const waiting = field(field(c, 'state'), 'waiting');
    const terminated = field(field(c, 'lastState'), 'terminated');
    return {
      ...pick(c, ['name', 'ready', 'restartCount']),
      ...(waiting ? { state: { waiting: pick(waiting, ['reason']) } } : {}),
      ...(terminated ? { lastState: { terminated: pick(terminated, ['reason']) } } : {}),
    };
  });
  return {
    metadata: pick(field(obj, 'metadata'), META),
    spec: { ...pick(spec, ['nodeName', 'hostNetwork']), ...(node ? { affinity } : {}) },
    status: { ...pick(status, POD_STATUS), conditions: conditions(status, ['Ready', 'PodScheduled']), containerStatuses: containers },
  } as T;
}

export function slimNode<T>(obj: T): T {
  return {
    metadata: pick(field(obj, 'metadata'), META),
    spec: pick(field(obj, 'spec'), ['unschedulable']),
    status: { conditions: conditions(field(obj, 'status'), ['Ready']) },
  } as T;
}

/**
 * Why this agent may not be reporting, most specific first, or null (it is expected to report:
 * its silence is network evidence). Churn: terminating, node_not_ready, node_cordoned. Agent
 * faults: not_scheduled, pod_not_running, agent_not_ready. `node` is undefined when the node is
 * not (or no longer) in the node cache.
 */
export function churnOf(pod: PodFacts, node: NodeFacts | undefined): { reason: ChurnReason; detail: string } | null {
  if (pod.deleting) return { reason: 'terminating', detail: 'pod is being deleted' };
  if (!pod.nodeName) {
    const target = pod.intendedNode ? ` to node ${pod.intendedNode}` : ' to a node';
    return { reason: 'not_scheduled', detail: `pod is not scheduled${target} yet${pod.unschedulable ? `: ${pod.unschedulable}` : ''}` };
  }
  if (!node) return { reason: 'node_not_ready', detail: `node ${pod.nodeName} is not known to the API server` };
  if (node.ready !== 'True') {
    const why = node.readyReason ? ` (${node.readyReason})` : '';
    return { reason: 'node_not_ready', detail: `node ${node.name} is not Ready: Ready=${node.ready || 'missing'}${why}` };
  }
  if (pod.phase !== 'Running') {
    const why = containerTrouble(pod.containers);
    return { reason: 'pod_not_running', detail: `pod ${pod.phase || 'in no phase'}, not Running${why ? `; ${why}` : ''}` };
  }
  const notReady = agentNotReady(pod);
  if (notReady) return { reason: 'agent_not_ready', detail: notReady };
  if (node.cordoned) return { reason: 'node_cordoned', detail: `node ${node.name} is cordoned (unschedulable)` };
  return null;
}

/** Why a Running pod's agent is not Ready, as kubelet reports it, or null (Ready, or not reported). */
function agentNotReady(pod: PodFacts): string | null {
  const down = pod.containers.find((c) => !c.ready);
  if (!down && pod.ready !== 'False') return null;
  return down ? containerTrouble([down]) : `pod not Ready${pod.readyReason ? ` (${pod.readyReason})` : ''}${restarts(pod.containers)}`;
}

/** "agent container waiting: CrashLoopBackOff, 5 restarts, last exit Error", or '' when no container says anything. */
function containerTrouble(containers: readonly ContainerFacts[]): string {
  const c = containers.find((x) => x.waiting) ?? containers.find((x) => !x.ready);
  if (!c) return '';
  const last = c.lastTerminated ? `, last exit ${c.lastTerminated}` : '';
  return `${c.name || 'agent'} container ${c.waiting ? `waiting: ${c.waiting}` : 'not ready'}${restarts([c])}${last}`;
}

const restarts = (containers: readonly ContainerFacts[]): string => {
  const n = containers.reduce((sum, c) => sum + c.restarts, 0);
  return n === 0 ? '' : `, ${n} restart${n === 1 ? '' : 's'}`;
};

/** Whether the agent on this pod can be expected to report: running and Ready (as far as kubelet said) on a Ready node. */
export function isUp(pod: PodFacts, node: NodeFacts | undefined): boolean {
  return !pod.deleting && pod.phase === 'Running' && node?.ready === 'True' && agentNotReady(pod) === null;
}
