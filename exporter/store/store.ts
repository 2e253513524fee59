// The store keeps the latest report of each agent. The exporter reads it from memory on every
// request (implementations keep a local cache), writes go through put/delete. `memory` is the
// embedded default; other backends implement the same interface and run the same conformance test.

import type { Report } from '../../report/schema.js';

export interface AgentRecord {
  /** Agent name: the pod name from the URL, the agent's identity. */
  readonly name: string;
  readonly report: Report;
  /** Receive time on the exporter's monotonic clock, ms; freshness is judged on this alone. */
  readonly receivedMonoMs: number;
  /** Receive time on the exporter's wall clock, epoch ms; shown to people, never used for freshness. */
  readonly receivedWallMs: number;
}

export interface Store {
  put(record: AgentRecord): Promise<void>;
  delete(name: string): Promise<void>;
  get(name: string): AgentRecord | undefined;
  records(): IterableIterator<AgentRecord>;
  /** False while the backend cannot be used; /readyz reports it. */
  ready(): boolean;
  close(): Promise<void>;
}
