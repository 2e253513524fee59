// Pure: Kubernetes objects (as `unknown`, from a list or a watch event) -> the facts discovery
// needs, and pod + node facts -> the churn reason that explains an agent's silence. No I/O.
// List results arrive deserialized (dates as Date), watch events as raw JSON (dates as strings):
// both are accepted.

import type { Network } from '../../report/schema.js';
import { isValidAgentName } from '../../report/schema.js';
import type { ChurnReason } from './discovery.js';

export interface PodFacts {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  /** Empty until the scheduler binds the pod. */
  readonly nodeName: string;
  readonly network: Network;
  /** Pending, Running, Succeeded, Failed or Unknown (empty when the API left it out). */
  readonly phase: string;
  readonly deleting: boolean;
  /** IPs the agent in this pod owns: status.podIPs (for a hostNetwork pod also status.hostIPs, the node's); [] until assigned. */
  readonly addresses: readonly string[];
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

/** Pod facts, or null when the object is not a usable pod (no valid name). */
export function podFacts(obj: unknown): PodFacts | null {
  const meta = field(obj, 'metadata');
  const name = text(field(meta, 'name'));
  if (!isValidAgentName(name)) return null;
  const spec = field(obj, 'spec');
  const deletion = field(meta, 'deletionTimestamp');
  return {
    uid: text(field(meta, 'uid')) || `${text(field(meta, 'namespace'))}/${name}`,
    name,
    namespace: text(field(meta, 'namespace')),
    nodeName: text(field(spec, 'nodeName')),
    network: field(spec, 'hostNetwork') === true ? 'host' : 'pod',
    phase: text(field(field(obj, 'status'), 'phase')),
    deleting: deletion !== undefined && deletion !== null && deletion !== '',
    addresses: podAddresses(obj),
  };
}

/** The pod's IPs from status (podIP and podIPs, plus hostIP and hostIPs for a hostNetwork pod), without repeats. */
export function podAddresses(pod: unknown): string[] {
  const status = field(pod, 'status');
  const hostNetwork = field(field(pod, 'spec'), 'hostNetwork') === true;
  const ips = (one: string, many: string): string[] => {
    const list = field(status, many);
    return [text(field(status, one)), ...(Array.isArray(list) ? list.map((e) => text(field(e, 'ip'))) : [])];
  };
  return [...new Set([...ips('podIP', 'podIPs'), ...(hostNetwork ? ips('hostIP', 'hostIPs') : [])])].filter((ip) => ip !== '');
}

/** Node facts, or null without a name. */
export function nodeFacts(obj: unknown): NodeFacts | null {
  const name = text(field(field(obj, 'metadata'), 'name'));
  if (!name) return null;
  const conditions = field(field(obj, 'status'), 'conditions');
  const ready = Array.isArray(conditions) ? conditions.find((c) => field(c, 'type') === 'Ready') : undefined;
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

export function slimPod<T>(obj: T): T {
  return { metadata: pick(field(obj, 'metadata'), META), spec: pick(field(obj, 'spec'), ['nodeName', 'hostNetwork']), status: pick(field(obj, 'status'), POD_STATUS) } as T;
}

export function slimNode<T>(obj: T): T {
  const conditions = field(field(obj, 'status'), 'conditions');
  const ready = Array.isArray(conditions) ? conditions.filter((c) => field(c, 'type') === 'Ready').map((c) => pick(c, ['type', 'status', 'reason'])) : [];
  return { metadata: pick(field(obj, 'metadata'), META), spec: pick(field(obj, 'spec'), ['unschedulable']), status: { conditions: ready } } as T;
}

/**
 * The churn that explains why this agent may not be reporting, most specific first, or null.
 * `node` is undefined when the node is not (or no longer) in the node cache.
 */
export function churnOf(pod: PodFacts, node: NodeFacts | undefined): { reason: ChurnReason; detail: string } | null {
  if (pod.deleting) return { reason: 'terminating', detail: 'pod is being deleted' };
  if (!pod.nodeName) return { reason: 'not_scheduled', detail: 'pod is not scheduled to a node yet' };
  if (!node) return { reason: 'node_not_ready', detail: `node ${pod.nodeName} is not known to the API server` };
  if (node.ready !== 'True') {
    const why = node.readyReason ? ` (${node.readyReason})` : '';
    return { reason: 'node_not_ready', detail: `node ${node.name} is not Ready: Ready=${node.ready || 'missing'}${why}` };
  }
  if (pod.phase !== 'Running') return { reason: 'pod_not_running', detail: `pod phase is ${pod.phase || 'unknown'}, not Running` };
  if (node.cordoned) return { reason: 'node_cordoned', detail: `node ${node.name} is cordoned (unschedulable)` };
  return null;
}

/** Whether the agent on this pod can be expected to report: running on a Ready node. */
export function isUp(pod: PodFacts, node: NodeFacts | undefined): boolean {
  return !pod.deleting && pod.phase === 'Running' && node?.ready === 'True';
}
