// The table of discovery backends, keyed by the --discovery flag's values. The Kubernetes client
// library is loaded only when the kubernetes backend is chosen.

import type { Logger } from '../../lib/log.js';
import type { DISCOVERIES, ExporterConfig } from '../config.js';
import type { Discovery } from './discovery.js';
import { expectedNames, StaticDiscovery } from './static.js';

export type MakeDiscovery = (config: ExporterConfig, log: Logger, monoMs: () => number) => Promise<Discovery>;

export const discoveries: Record<(typeof DISCOVERIES)[number], MakeDiscovery> = {
  static: async (config) => new StaticDiscovery(await expectedNames(config.expect, config.expectFile)),
  kubernetes: async (config, log, monoMs) => {
    const { KubernetesDiscovery, loadKubeConfig } = await import('./kubernetes.js');
    const { kubeconfig, namespace, agentSelector } = config.kubernetes;
    return new KubernetesDiscovery(loadKubeConfig(kubeconfig), {
      namespace,
      agentSelector,
      log: log.child({ discovery: 'kubernetes' }),
      monoMs,
    });
  },
};
