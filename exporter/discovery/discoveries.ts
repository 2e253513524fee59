// The table of discovery backends, keyed by the --discovery flag's values. Each is built from a
// narrow context (the expected names, the Kubernetes settings), not the exporter's config. The
// Kubernetes client library is loaded only when the kubernetes backend is chosen.

import type { Logger } from '../../lib/log.js';
import type { Discovery } from './discovery.js';
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
