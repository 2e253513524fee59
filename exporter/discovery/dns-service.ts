// The cluster DNS replicas from the DNS Service's EndpointSlices (--dns-service, default
// kube-system/kube-dns): one informer (list+watch) in the Service's namespace, selecting the
// slices by the kubernetes.io/service-name label, as kube-proxy does. The replica list is rebuilt
// per batch of events, never per request. A failing watch (e.g. RBAC without endpointslices)
// keeps the last list and logs; it never makes the exporter unready: replicas are extra evidence.
// More ready endpoints than an agent takes (LIMITS.dnsReplicasMax): the first by address are
// handed out, the cut logged once per change of the list, and netchecker_dns_replicas counts both.

import { DiscoveryV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../lib/log.js';
import { capReplicas, type DnsReplica, type DnsReplicaSource, replicasFromSlices, sameReplicas } from './dns-replicas.js';
import { type Backoff, DEFAULT_BACKOFF, WatchedResource } from './informer.js';

export interface DnsService {
  readonly namespace: string;
  readonly name: string;
}

/** Only what replicasFromSlices reads is kept of each slice. */
function slimSlice(obj: KubernetesObject): KubernetesObject {
  const { apiVersion, kind, metadata } = obj;
  const s = obj as KubernetesObject & { addressType?: unknown; endpoints?: unknown; ports?: unknown };
  const meta = { name: metadata?.name, namespace: metadata?.namespace, resourceVersion: metadata?.resourceVersion };
  return Object.assign({ apiVersion, kind, metadata: meta }, { addressType: s.addressType, endpoints: s.endpoints, ports: s.ports });
}

export class DnsServiceReplicas implements DnsReplicaSource {
  readonly #slices: WatchedResource;
  readonly #log: Logger;
  #replicas: readonly DnsReplica[] = [];
  #known = 0;
  #scheduled = false;

  constructor(kc: KubeConfig, service: DnsService, log: Logger, backoff: Backoff = DEFAULT_BACKOFF) {
    this.#log = log;
    const api = kc.makeApiClient(DiscoveryV1Api);
    const { namespace } = service;
    const labelSelector = `kubernetes.io/service-name=${service.name}`;
    this.#slices = new WatchedResource(
      kc,
      {
        resource: 'endpointslices',
        scope: `in namespace ${namespace}`,
        path: `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/endpointslices`,
        labelSelector,
        list: (page) => api.listNamespacedEndpointSlice({ namespace, labelSelector, ...page }),
        needs: `list and watch on endpointslices.discovery.k8s.io in namespace ${namespace} (deploy/base: a Role there)`,
        slim: slimSlice,
      },
      log,
      () => this.#schedule(),
      backoff,
    );
    this.#slices.start();
  }

  replicas(): readonly DnsReplica[] {
    return this.#replicas;
  }

  known(): number {
    return this.#known;
  }

  close(): Promise<void> {
    return this.#slices.stop();
  }

  /** A list is one event per slice: rebuild once per burst. */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (!this.#slices.synced()) return;
      const all = replicasFromSlices(this.#slices.objects());
      const next = capReplicas(all);
      const same = sameReplicas(next, this.#replicas);
      if (same && all.length === this.#known) return;
      const wasCut = this.#known > this.#replicas.length;
      if (!same) this.#replicas = Object.freeze(next);
      this.#known = all.length;
      this.#logCut(all, wasCut);
    });
  }

  /** Once per change of the list: a cut list says how many replicas go unprobed, and the first of them. */
  #logCut(all: readonly DnsReplica[], wasCut: boolean): void {
    const handedOut = this.#replicas.length;
    if (all.length > handedOut) {
      this.#log.warn('more DNS replicas than agents take: the first by address are handed out', {
        known: all.length,
        handedOut,
        firstLeftOut: all.slice(handedOut, handedOut + 5).map((r) => r.address),
      });
    } else if (wasCut) this.#log.info('every DNS replica is handed out again', { known: all.length });
  }
}
