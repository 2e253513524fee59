// The cluster DNS replicas that agents query directly, besides the DNS Service's address: the
// ready endpoints of the Service's EndpointSlices (--dns-service, with --discovery kubernetes;
// dns-service.ts watches them) or a static list (--dns-replicas). The exporter hands their
// addresses out with the peers and counts, per replica, the agents that fail it. This file holds
// the shapes and the pure readers of both sources; no I/O.

import { joinHostPort, parsePeerAddress, splitHostPort } from '../../report/address.js';
import { LIMITS } from '../../report/schema.js';

export interface DnsReplica {
  /** IP:PORT (IPv6 in brackets), where agents send their queries. */
  readonly address: string;
  /** The replica's pod (the endpoint's targetRef); empty when not known. */
  readonly pod: string;
  /** The node the replica runs on (the endpoint's nodeName); empty when not known. */
  readonly node: string;
}

export interface DnsReplicaSource {
  /** The replicas handed out, sorted by address, at most LIMITS.dnsReplicasMax; the same array until they change. */
  replicas(): readonly DnsReplica[];
  /** The replicas known before that cap: more than replicas().length when some are left out. */
  known(): number;
  close(): Promise<void>;
}

/** No replicas known: nothing handed out, no series. */
export const NO_REPLICAS: DnsReplicaSource = { replicas: () => [], known: () => 0, close: async () => {} };

/** The list is checked against the cap at startup (exporter/config.ts), so it is handed out whole. */
export function staticReplicas(replicas: readonly DnsReplica[]): DnsReplicaSource {
  const frozen = Object.freeze([...replicas]);
  return { replicas: () => frozen, known: () => frozen.length, close: async () => {} };
}

/** Where the replicas come from (exporter/config.ts): the static list, the DNS Service's slices, or nowhere. */
export type DnsReplicaConfig =
  | { readonly kind: 'static'; readonly replicas: readonly DnsReplica[] }
  | { readonly kind: 'service'; readonly namespace: string; readonly name: string }
  | null;

/** IP:PORT of an IP (port 53 when absent) or of an IP:PORT; null when it is not an IP. */
function replicaAddress(s: string, port = 53): string | null {
  const address = splitHostPort(s) ? s : joinHostPort(s, port);
  return parsePeerAddress(address) !== null ? address : null;
}

/** One --dns-replicas entry: IP[:PORT][=POD[@NODE]]; null when malformed. Pure. */
export function parseReplicaEntry(entry: string): DnsReplica | null {
  const [addr = '', who = ''] = entry.split('=', 2);
  const [pod = '', node = ''] = who.split('@', 2);
  const address = replicaAddress(addr);
  if (address === null || entry.split('=').length > 2 || who.split('@').length > 2) return null;
  if (pod.length > LIMITS.nameMaxLength || node.length > LIMITS.nameMaxLength) return null;
  return { address, pod, node };
}

/** The part of an EndpointSlice this reads (discovery.k8s.io/v1). */
interface Slice {
  addressType?: string;
  endpoints?: Array<{
    addresses?: string[];
    conditions?: { ready?: boolean | null };
    nodeName?: string;
    targetRef?: { kind?: string; name?: string };
  }> | null;
  ports?: Array<{ name?: string; port?: number; protocol?: string }> | null;
}

/** The UDP port the replicas serve DNS on: the port named dns, else the first UDP port, else 53. */
function dnsPort(slice: Slice): number {
  const udp = (slice.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'UDP' && typeof p.port === 'number');
  return (udp.find((p) => p.name === 'dns') ?? udp[0])?.port ?? 53;
}

/**
 * The ready endpoints of a Service's EndpointSlices, one replica per address, sorted by address
 * (so that every exporter replica cuts the same list at LIMITS.dnsReplicasMax: capReplicas).
 * Not-ready endpoints are out of the Service's rotation (kube-proxy skips them), so they are not
 * probed either. Pure.
 */
export function replicasFromSlices(slices: readonly unknown[]): DnsReplica[] {
  const out = new Map<string, DnsReplica>();
  for (const obj of slices) {
    const slice = obj as Slice;
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue; // FQDN slices name no replica
    const port = dnsPort(slice);
    for (const e of slice.endpoints ?? []) {
      if (e.conditions?.ready === false) continue;
      for (const ip of e.addresses ?? []) {
        const address = replicaAddress(ip, port);
        if (address === null || out.has(address)) continue;
        out.set(address, { address, pod: e.targetRef?.kind === 'Pod' ? (e.targetRef.name ?? '') : '', node: e.nodeName ?? '' });
      }
    }
  }
  return [...out.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/** The replicas handed out of a sorted list: the first LIMITS.dnsReplicasMax (an agent takes no more). Pure. */
export function capReplicas(sorted: readonly DnsReplica[]): DnsReplica[] {
  return sorted.slice(0, LIMITS.dnsReplicasMax);
}

/** Same replicas in the same order: a watch event that changed nothing keeps the old array. */
export function sameReplicas(a: readonly DnsReplica[], b: readonly DnsReplica[]): boolean {
  return a.length === b.length && a.every((r, i) => r.address === b[i]?.address && r.pod === b[i]?.pod && r.node === b[i]?.node);
}
