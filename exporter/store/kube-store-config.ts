// The flags of --store kubernetes, parsed once with the exporter's config. The client itself is
// configured by --kubeconfig (shared with --discovery kubernetes).

import type { FlagSpec, FlagValues } from '../../lib/flags.js';

export interface KubeStoreConfig {
  /** Namespace of the AgentShard objects: the exporter's own. */
  readonly namespace: string;
  /** AgentShard objects the agents are hashed into; every replica must use the same number. */
  readonly shards: number;
  /** Writes per second to the API at most, whatever the number of agents (token bucket). */
  readonly writesPerSecond: number;
  /** An agent's stored receipt time may lag its real one by this much before its shard is written. */
  readonly heartbeatMs: number;
  /** Agents whose change may wait in memory while the API is unavailable; past it reports get 503. */
  readonly queueMax: number;
  /** Deadline of every API call. */
  readonly timeoutMs: number;
}

export const kubeStoreFlags: readonly FlagSpec[] = [
  { name: 'kubernetes-store-namespace', kind: 'string', metavar: 'NAMESPACE', env: 'NETCHECKER_STORE_NAMESPACE', default: 'netchecker', help: "Namespace of the AgentShard objects of --store kubernetes: the exporter's own (deploy/ sets it from the pod)." },
  { name: 'kubernetes-store-shards', kind: 'number', metavar: 'N', default: 32, help: 'AgentShard objects the agents are spread over (--store kubernetes); every replica must use the same number. About 150 bytes per agent each.' },
  { name: 'kubernetes-store-writes', kind: 'number', metavar: 'PER_SECOND', default: 10, help: 'Most writes per second this exporter makes to the Kubernetes API (--store kubernetes), whatever the number of agents.' },
  { name: 'kubernetes-store-heartbeat', kind: 'number', metavar: 'SECONDS', default: 5, help: "How far an agent's receipt time in the API may lag before its shard is written again (--store kubernetes); keep it under the agents' interval." },
  { name: 'kubernetes-store-queue-max', kind: 'number', metavar: 'AGENTS', default: 100_000, help: 'Agents whose change may wait in memory while the Kubernetes API is unavailable (--store kubernetes); past it (or with 0) reports are answered 503.' },
  { name: 'kubernetes-store-timeout', kind: 'number', metavar: 'SECONDS', default: 5, help: 'Deadline of every Kubernetes API call of --store kubernetes.' },
];

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export type KubeStoreConfigResult = { ok: true; value: KubeStoreConfig | null } | { ok: false; error: string };

/** Null unless --store kubernetes. */
export function parseKubeStoreConfig(v: FlagValues, store: string): KubeStoreConfigResult {
  if (store !== 'kubernetes') return { ok: true, value: null };
  const err = (error: string): KubeStoreConfigResult => ({ ok: false, error });
  const namespace = String(v['kubernetes-store-namespace'] ?? '');
  if (!NAMESPACE.test(namespace)) return err(`--kubernetes-store-namespace must be a Kubernetes namespace name, got "${namespace.slice(0, 80)}"`);
  const shards = v['kubernetes-store-shards'] as number;
  if (!(Number.isInteger(shards) && shards >= 1 && shards <= 1000)) return err('--kubernetes-store-shards must be an integer from 1 to 1000');
  const writes = v['kubernetes-store-writes'] as number;
  if (!(writes >= 0.1 && writes <= 1000)) return err('--kubernetes-store-writes must be a number from 0.1 to 1000');
  const heartbeat = v['kubernetes-store-heartbeat'] as number;
  if (!(heartbeat >= 0 && heartbeat <= 3600)) return err('--kubernetes-store-heartbeat must be a number from 0 to 3600');
  const queueMax = v['kubernetes-store-queue-max'] as number;
  if (!(Number.isInteger(queueMax) && queueMax >= 0 && queueMax <= 10_000_000)) return err('--kubernetes-store-queue-max must be an integer from 0 to 10000000');
  const timeout = v['kubernetes-store-timeout'] as number;
  if (!(timeout >= 0.1 && timeout <= 60)) return err('--kubernetes-store-timeout must be a number from 0.1 to 60');
  return {
    ok: true,
    value: Object.freeze({ namespace, shards, writesPerSecond: writes, heartbeatMs: Math.round(heartbeat * 1000), queueMax, timeoutMs: Math.round(timeout * 1000) }),
  };
}
