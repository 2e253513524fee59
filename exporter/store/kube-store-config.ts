// The flags of --store kubernetes, parsed once with the exporter's config. The client itself is
// configured by --kubeconfig (shared with --discovery kubernetes).

import { FlagError, type FlagSpec, type FlagValues } from '../../lib/flags.js';

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

export const kubeStoreFlags = [
  {
    name: 'kubernetes-store-namespace',
    kind: 'string',
    metavar: 'NAMESPACE',
    env: 'NETCHECKER_STORE_NAMESPACE',
    default: 'netchecker',
    help: "Namespace of the AgentShard objects of --store kubernetes: the exporter's own (deploy/ sets it from the pod).",
  },
  {
    name: 'kubernetes-store-shards',
    kind: 'number',
    integer: true,
    min: 1,
    max: 1000,
    default: 32,
    help: 'AgentShard objects the agents are spread over (--store kubernetes); every replica must use the same number. About 150 bytes per agent each.',
  },
  {
    name: 'kubernetes-store-writes',
    kind: 'number',
    min: 0.1,
    max: 1000,
    unit: 'per second',
    default: 10,
    help: 'Most writes per second this exporter makes to the Kubernetes API (--store kubernetes), whatever the number of agents.',
  },
  {
    name: 'kubernetes-store-heartbeat',
    kind: 'number',
    min: 0,
    max: 3600,
    unit: 'seconds',
    default: 5,
    help: "How far an agent's receipt time in the API may lag before its shard is written again (--store kubernetes); keep it under the agents' interval.",
  },
  {
    name: 'kubernetes-store-queue-max',
    kind: 'number',
    integer: true,
    min: 0,
    max: 10_000_000,
    metavar: 'AGENTS',
    default: 100_000,
    help: 'Agents whose change may wait in memory while the Kubernetes API is unavailable (--store kubernetes); past it (or with 0) reports are answered 503.',
  },
  {
    name: 'kubernetes-store-timeout',
    kind: 'number',
    min: 0.1,
    max: 60,
    unit: 'seconds',
    default: 5,
    help: 'Deadline of every Kubernetes API call of --store kubernetes.',
  },
] as const satisfies readonly FlagSpec[];

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Null unless --store kubernetes; the table checked the numbers. */
export function parseKubeStoreConfig(v: FlagValues<typeof kubeStoreFlags>, store: string): KubeStoreConfig | null {
  if (store !== 'kubernetes') return null;
  const namespace = v['kubernetes-store-namespace'];
  if (!NAMESPACE.test(namespace))
    throw new FlagError(`--kubernetes-store-namespace must be a Kubernetes namespace name, got "${namespace.slice(0, 80)}"`);
  return Object.freeze({
    namespace,
    shards: v['kubernetes-store-shards'],
    writesPerSecond: v['kubernetes-store-writes'],
    heartbeatMs: Math.round(v['kubernetes-store-heartbeat'] * 1000),
    queueMax: v['kubernetes-store-queue-max'],
    timeoutMs: Math.round(v['kubernetes-store-timeout'] * 1000),
  });
}
