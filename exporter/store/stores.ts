// The table of store backends, keyed by the --store flag's values. A factory resolves once the
// store can serve (etcd: the first load was tried, bounded by --etcd-timeout; kubernetes: the first list, bounded by
// --kubernetes-store-timeout); it rejects only
// for config it cannot use (unreadable TLS files).

import { MemoryStore } from './memory.js';
import type { Store, StoreContext } from './store.js';

export const STORE_KINDS = ['memory', 'etcd', 'kubernetes'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

export const stores: Record<StoreKind, (context: StoreContext) => Promise<Store>> = {
  memory: async () => new MemoryStore(),
  // Loaded on use: the etcd client pulls in gRPC, which the memory store does not need.
  etcd: async (context) => (await import('./etcd.js')).EtcdStore.open(context),
  // Loaded on use as well: the Kubernetes client is large.
  kubernetes: async (context) => (await import('./kubernetes.js')).KubernetesStore.open(context),
};
