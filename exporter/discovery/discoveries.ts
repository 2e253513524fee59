// The table of discovery backends, keyed by the --discovery flag's values. Each is built from a
// narrow context (the expected names, the Kubernetes settings), not the exporter's config. The
// Kubernetes client library is loaded only when the kubernetes backend is chosen. Beside them, the
// sources of the cluster DNS replicas (dns-replicas.ts).

import type { Logger } from '../../lib/log.js';
import type { Discovery } from './discovery.js';
import { type DnsReplicaConfig, type DnsReplicaSource, NO_REPLICAS, staticReplicas } from './dns-replicas.js';
import type { KubernetesConfig } from './kubernetes-config.js';
import { expectedNames, StaticDiscovery } from './static.js';

export const DISCOVERIES = ['static', 'kubernetes'] as const;
export type DiscoveryKind = (typeof DISCOVERIES)[number];

/** What a discovery backend is built from. */
export interface DiscoveryContext {
  readonly expect: readonly string[];
  readonly expectFile: string | undefined;
  readonly kubernetes: KubernetesConfig;
  readonly log: Logger;
  /** The exporter's monotonic clock, ms. */
  readonly monoMs: () => number;
}

export const discoveries: Record<DiscoveryKind, (context: DiscoveryContext) => Promise<Discovery>> = {
  static: async ({ expect, expectFile }) => new StaticDiscovery(await expectedNames(expect, expectFile)),
  kubernetes: async ({ kubernetes, log, monoMs }) => {
    const { KubernetesDiscovery, loadKubeConfig } = await import('./kubernetes.js');
    const { kubeconfig, namespace, agentSelector } = kubernetes;
    return new KubernetesDiscovery(loadKubeConfig(kubeconfig), {
      namespace,
      agentSelector,
      log: log.child({ discovery: 'kubernetes' }),
      monoMs,
    });
  },
};

/** Starts the configured source; the Kubernetes client is loaded only for the Service's slices. */
export async function startDnsReplicas(config: DnsReplicaConfig, kubeconfig: string | undefined, log: Logger): Promise<DnsReplicaSource> {
  if (config === null) return NO_REPLICAS;
  if (config.kind === 'static') return staticReplicas(config.replicas);
  const [{ DnsServiceReplicas }, { loadKubeConfig }] = await Promise.all([import('./dns-service.js'), import('./kubernetes.js')]);
  return new DnsServiceReplicas(loadKubeConfig(kubeconfig), config, log.child({ dnsService: `${config.namespace}/${config.name}` }));
}
