// The store keeps the latest report of each agent. The exporter reads it from memory on every
// request (implementations keep a local cache), writes go through put/delete. `memory` is the
// embedded default; other backends implement the same interface and run the same conformance test.

import type { Logger } from '../../lib/log.js';
import type { Report } from '../../report/schema.js';
import type { EtcdConfig } from './etcd-config.js';
import type { KubeStoreConfig } from './kube-store-config.js';
import type { Clock } from '../../lib/clock.js';

export interface AgentRecord {
  /** Agent name: the pod name from the URL, the agent's identity. */
  readonly name: string;
  readonly report: Report;
  /**
   * Receive time on the exporter's monotonic clock, ms; freshness is judged on this alone. For a
   * record received by another replica (or loaded at start) it is derived from receivedWallMs:
   * now minus its wall-clock age, never later than now (record-codec.ts, monoFromWall).
   */
  readonly receivedMonoMs: number;
  /** Receive time on the exporter's wall clock, epoch ms; shown to people, never used for freshness. */
  readonly receivedWallMs: number;
  /**
   * IP the report came from (the connection's remote address); without pod IPs from discovery,
   * the one IP its listen may name to be handed out as a peer (peers/bound.ts). Null or absent:
   * unknown (a record written by an older exporter).
   */
  readonly source?: string | null;
}

export interface Store {
  /**
   * Resolves once the record is stored, or queued to be written back (etcd outage); rejects
   * otherwise, with StoreUnavailableError (deadline.ts) when it can do neither: the client gets 503;
   * with RecordTooLargeError when the backend can never hold it: the client gets 413.
   * A put that ends late (after its client got 503) never replaces a later record of the agent.
   */
  put(record: AgentRecord): Promise<void>;
  /** Puts settle without I/O and cannot hang (memory): reports skip the deadline timer. */
  readonly local: boolean;
  delete(name: string): Promise<void>;
  get(name: string): AgentRecord | undefined;
  records(): IterableIterator<AgentRecord>;
  /** False while the backend cannot be used or writes wait for it; /readyz reports it. */
  ready(): boolean;
  /** True once the cache holds the backend's state (memory: always); before that nobody is absent. */
  synced(): boolean;
  /** Called when records change without a put/delete here: another replica, lease expiry, reload. */
  onChange(listener: () => void): void;
  /**
   * The latest verdict, once per recompute: a store shared through the API keeps each agent's
   * state for replicas and `kubectl` (kubernetes); the others hold the full records and ignore it.
   */
  judged(agents: readonly Judgement[]): void;
  /** For self-metrics. */
  health(): StoreHealth;
  close(): Promise<void>;
}

/** One agent as the verdict judged it; `state` is one of verdict.ts's STATES (the store sits below the verdict). */
export interface Judgement {
  readonly name: string;
  readonly state: string;
}

/** The backend cannot hold this record, now or later (etcd: larger than one request): 413. */
export class RecordTooLargeError extends Error {
  override readonly name = 'RecordTooLargeError';
}

export interface StoreHealth {
  /** The backend answers and this replica sees its changes. */
  readonly up: boolean;
  /** Records (or deletes) waiting to be written back once the backend answers again. */
  readonly queued: number;
}

/** Store operations, the values of netchecker_store_errors_total's `op` label. */
export const STORE_OPS = ['put', 'delete', 'load', 'watch', 'lease'] as const;
export type StoreOp = (typeof STORE_OPS)[number];

/** What a store backend is built from: its settings, the clock, a logger, an error sink. */
export interface StoreContext {
  /** Null without --etcd-endpoints. */
  readonly etcd: EtcdConfig | null;
  /** Null unless --store kubernetes. */
  readonly kubeStore: KubeStoreConfig | null;
  /** --kubeconfig (undefined: the library's defaults, then the in-cluster service account). */
  readonly kubernetes: { readonly kubeconfig: string | undefined };
  /** Records of agents silent this long may go (the etcd leases outlive it). */
  readonly reportTtlSeconds: number;
  readonly clock: Clock;
  readonly log: Logger;
  readonly onError: (op: StoreOp) => void;
}
