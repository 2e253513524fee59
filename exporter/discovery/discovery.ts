// Discovery answers "which agents should be reporting?". The verdict compares that set with
// the stored reports. Implementations keep the set in memory; nothing is fetched per request.

import type { Network } from '../../report/schema.js';

export interface ExpectedAgent {
  readonly name: string;
  /** Node the agent runs on, when discovery knows it. */
  readonly node?: string;
  /** Network kind, when discovery knows it; else the report or the name rule decides. */
  readonly network?: Network;
}

export interface Discovery {
  /** The expected agents, or null: "whoever has reported" (no discovery configured). */
  expected(): ReadonlyMap<string, ExpectedAgent> | null;
  /** False until the first full view is known; /readyz reports it. */
  ready(): boolean;
  /** A backend error that makes the verdict impossible (connectivity_check answers 500). */
  error(): string | null;
  close(): Promise<void>;
}
