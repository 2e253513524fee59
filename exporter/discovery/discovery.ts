// Discovery answers "which agents should be reporting?". The verdict compares that set with
// the stored reports. Implementations keep the set in memory; nothing is fetched per request.

import type { Network } from '../../report/schema.js';

/**
 * Why an expected agent may be silent for a reason discovery sees, the same strings as states:
 * churn (terminating, node_not_ready, node_cordoned) or an agent fault, the agent pod itself
 * down (not_scheduled, pod_not_running, agent_not_ready). Neither is network evidence.
 */
export const CHURN_REASONS = [
  'not_scheduled',
  'pod_not_running',
  'agent_not_ready',
  'terminating',
  'node_not_ready',
  'node_cordoned',
] as const;
export type ChurnReason = (typeof CHURN_REASONS)[number];

export interface ExpectedAgent {
  readonly name: string;
  /** Node the agent runs on, when discovery knows it. */
  readonly node?: string;
  /** Network kind, when discovery knows it; else the report or the name rule decides. */
  readonly network?: Network;
  /**
   * Churn or agent fault that explains silence, with a sentence for a person; only applies while
   * the agent is not reporting. `sinceMonoMs`, for node churn (NotReady, cordoned): when the node
   * was first seen so, -Infinity when it already was at the first list. An agent silent since
   * before then is not excused by it: an isolated node turns NotReady because it is isolated.
   */
  readonly churn?: { readonly reason: ChurnReason; readonly detail: string; readonly sinceMonoMs?: number };
  /** Exporter monotonic time (ms) from which the `starting` grace counts (pod seen running, node seen Ready). */
  readonly sinceMonoMs?: number;
  /** IPs the agent's pod owns (Kubernetes discovery), the only ones its peer address may name; undefined when discovery knows no pods. */
  readonly addresses?: readonly string[];
}

export interface Discovery {
  /** The expected agents, or null: "whoever has reported" (no discovery configured). */
  expected(): ReadonlyMap<string, ExpectedAgent> | null;
  /** False until the first full view is known; /readyz reports it. */
  ready(): boolean;
  /** A backend error that makes the verdict impossible (connectivity_check answers 500). */
  error(): string | null;
  /** The agent pod object by namespace and name (Kubernetes only): --auth kubernetes binds tokens to it. */
  pod?(namespace: string, name: string): unknown;
  close(): Promise<void>;
}
