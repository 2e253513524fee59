// The cluster DNS replicas from the DNS Service's EndpointSlices (--dns-service, default
// kube-system/kube-dns): one informer (list+watch) in the Service's namespace, selecting the
// slices by the kubernetes.io/service-name label, as kube-proxy does. The replica list is rebuilt
// per batch of events, never per request. A failing watch (e.g. RBAC without endpointslices)
// keeps the last list and logs; it never makes the exporter unready: replicas are extra evidence.

import { DiscoveryV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../lib/log.js';
import { type DnsReplica, type DnsReplicaSource, replicasFromSlices, sameReplicas } from './dns-replicas.js';
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
  #replicas: readonly DnsReplica[] = [];
  #scheduled = false;

  constructor(kc: KubeConfig, service: DnsService, log: Logger, backoff: Backoff = DEFAULT_BACKOFF) {
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
      const next = replicasFromSlices(this.#slices.objects());
      if (!sameReplicas(next, this.#replicas)) this.#replicas = Object.freeze(next);
    });
  }
}
