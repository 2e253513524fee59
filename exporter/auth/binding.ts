// Pure: who a reviewed token is (a service account bound to one pod), and whether that pod may
// store this report under this name. The pod comes from the discovery informer (the API server's
// view), never from the report, so an agent can speak only for its own pod, node and network.

import type { V1TokenReviewStatus } from '@kubernetes/client-node';
import type { Cidr } from '../../report/address.js';
import type { Network, Report } from '../../report/schema.js';
import type { RejectReason } from '../errors.js';
import { podAddresses } from '../discovery/reasons.js';
import { isBoundAddress } from '../peers/bound.js';

/** A service account token bound to a pod, as the TokenReview tells it. */
export interface PodIdentity {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly podName: string;
  readonly podUid: string;
  /** The node-name extra (Kubernetes 1.30+, ServiceAccountTokenPodNodeInfo); null when absent. */
  readonly nodeName: string | null;
}

export type Denial = { readonly code: RejectReason; readonly detail: string };
export type IdentityResult = { ok: true; identity: PodIdentity } | ({ ok: false } & Denial);

const SA_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;
const EXTRA = 'authentication.kubernetes.io/';

const extra = (status: V1TokenReviewStatus, key: string): string => status.user?.extra?.[`${EXTRA}${key}`]?.[0] ?? '';

/** The identity in a TokenReview status, or why it is not an agent's. */
export function identityOf(status: V1TokenReviewStatus, audience: string): IdentityResult {
  if (status.authenticated !== true)
    return { ok: false, code: 'auth_invalid', detail: 'The Kubernetes API did not authenticate the token.' };
  // An authenticator that ignores audiences answers with none: the token may be meant for another service.
  if (!status.audiences?.includes(audience))
    return { ok: false, code: 'auth_audience', detail: `The token is not issued for the audience "${audience}".` };
  const m = SA_USER.exec(status.user?.username ?? '');
  if (!m) return { ok: false, code: 'auth_not_service_account', detail: 'The token does not belong to a service account.' };
  const [podName, podUid] = [extra(status, 'pod-name'), extra(status, 'pod-uid')];
  if (!podName || !podUid)
    return { ok: false, code: 'auth_not_bound', detail: 'The token is not bound to a pod (use a projected service account token).' };
  return {
    ok: true,
    identity: { namespace: m[1] as string, serviceAccount: m[2] as string, podName, podUid, nodeName: extra(status, 'node-name') || null },
  };
}

/** The facts of an agent pod the binding compares against. */
export interface PodBinding {
  readonly uid: string;
  readonly nodeName: string;
  readonly network: Network;
  /** The pod's IPs (podFacts): the report's listen must name one of them. */
  readonly addresses: readonly string[];
}

const field = (v: unknown, key: string): unknown => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined);

/** The binding facts of a pod object from the informer (list or watch: plain JSON either way). */
export function podBinding(pod: unknown): PodBinding {
  const nodeName = field(field(pod, 'spec'), 'nodeName');
  const uid = field(field(pod, 'metadata'), 'uid');
  return {
    uid: typeof uid === 'string' ? uid : '',
    nodeName: typeof nodeName === 'string' ? nodeName : '',
    network: field(field(pod, 'spec'), 'hostNetwork') === true ? 'host' : 'pod',
    addresses: podAddresses(pod),
  };
}

/**
 * Whether the token's pod may store `report` as agent `name`; null when it may. `pod` is the
 * informer's pod of that namespace and name (undefined: not there, yet or at all). The report's
 * nodename may be empty (the original agent without MY_NODE_NAME) but never another node.
 */
export function checkBinding(
  id: PodIdentity,
  name: string,
  report: Report,
  pod: PodBinding | undefined,
  peerCidrs: readonly Cidr[] = [],
): Denial | null {
  if (name !== id.podName)
    return { code: 'auth_name_mismatch', detail: `The token belongs to pod ${id.namespace}/${id.podName}, not to agent ${name}.` };
  if (report.podName !== id.podName)
    return { code: 'auth_name_mismatch', detail: `The report's podname is not the token's pod ${id.podName}.` };
  if (!pod)
    return {
      code: 'auth_pod_unknown',
      detail: `Pod ${id.namespace}/${id.podName} is not among the agent pods the exporter watches (yet); retry.`,
    };
  if (pod.uid !== id.podUid)
    return {
      code: 'auth_stale_pod',
      detail: `The token belongs to an earlier pod named ${id.podName} (uid ${id.podUid}), not the current one.`,
    };
  if (id.nodeName !== null && id.nodeName !== pod.nodeName)
    return {
      code: 'auth_node_mismatch',
      detail: `The token was issued on node ${id.nodeName}, but the pod runs on ${pod.nodeName || 'no node'}.`,
    };
  if (report.nodeName !== '' && report.nodeName !== pod.nodeName)
    return { code: 'auth_node_mismatch', detail: `The report's nodename is not the pod's node ${pod.nodeName || '(none)'}.` };
  if (report.network !== null && report.network !== pod.network)
    return {
      code: 'auth_network_mismatch',
      detail: `The report claims the ${report.network} network, but the pod runs in the ${pod.network} network.`,
    };
  if (report.listen != null && !isBoundAddress(report.listen, pod.addresses, peerCidrs)) {
    // The kubelet sets the pod IP before the agent starts; an informer that has not seen it yet is retried.
    if (pod.addresses.length === 0)
      return { code: 'auth_pod_unknown', detail: `The IP of pod ${id.namespace}/${id.podName} is not known to the exporter yet; retry.` };
    return {
      code: 'auth_listen_mismatch',
      detail: `The report's listen ${report.listen} is not on the pod's IP (${pod.addresses.join(', ')}) nor in --peer-cidrs.`,
    };
  }
  return null;
}
