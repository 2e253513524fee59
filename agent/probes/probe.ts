// The one shape of an agent probe. A probe measures and returns data with a closed result class
// (report/schema.ts's RESULT_CLASSES: the wire's values, the exporter's label values and alert
// matchers), never an exception. Each probe file exports one row of the table in index.ts: it
// starts what lasts across rounds (or nothing, when its flags turn it off) and, per round, fills
// its own fields of the report, cut at the round's deadline.

import type { Logger } from '../../lib/log.js';
import type { Peer } from '../../report/answers.js';
import type { Additions } from '../../report/encode.js';
import type { ApiServerVia, Phase, ResultClass, WireReport } from '../../report/schema.js';
import type { HealthSource } from '../listener.js';

/** Every probe's outcome carries its result class; error is a human-readable detail for logs. */
export interface Outcome {
  readonly result: ResultClass;
  readonly error?: string;
}

/** Durations in milliseconds (sub-ms precision); a phase is absent when it never happened. */
export type PhasesMs = Partial<Record<Exclude<Phase, 'total'>, number>> & { total: number };

/** One HTTP probe. */
export interface ProbeOutcome extends Outcome {
  url: string;
  /** 0 when no response arrived. */
  httpCode: number;
  phasesMs: PhasesMs;
}

/** Each probe's own limits: one timeout, and the round's signal that cuts it at the round's deadline. */
export interface ProbeLimits {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** The report fields the probes fill; the rest of the report is the agent's identity and node facts. */
export type ProbeFields = Omit<Additions, 'integrity'> & Partial<Pick<WireReport, 'nslookup' | 'network_probes'>>;

/** A round's fields: the probes' and the agent's own integrity during the round. */
export type RoundFields = ProbeFields & Pick<WireReport, 'integrity'>;

/** One way to the API server. */
export interface ApiServerTarget {
  readonly via: ApiServerVia;
  /** Host name or IP address. */
  readonly host: string;
  readonly port: number;
}

/** The flags of the probes beyond the original's: DNS, peer mesh, ICMP and path MTU. */
export interface ProbeConfig {
  /** Null: no DNS probes. servers null: the nameservers of resolv.conf. */
  readonly dns: { readonly servers: readonly string[] | null; readonly names: readonly string[] } | null;
  /** Null: no listener and no peer probes. */
  readonly listen: { readonly host: string; readonly port: number } | null;
  /** IPs peers reach the listener on, at most one per family, the first one the primary; null: from the listener. */
  readonly advertise: readonly string[] | null;
  readonly peerAttempts: number;
  readonly mtuSizes: readonly number[];
  readonly icmp: boolean;
  /** Null: no API server checks (off, or not in Kubernetes). */
  readonly apiServer: {
    readonly targets: readonly ApiServerTarget[];
    /** Path of the HTTPS GET, e.g. /readyz. */
    readonly path: string;
    /** --api-server-ca; null: the service account CA, if mounted. */
    readonly caFile: string | null;
  } | null;
  /** HOST:PORT targets that policy must deny; empty: off. */
  readonly mustBeBlocked: readonly string[];
}

/** What the probes read of the agent's config (agent/config.ts's AgentConfig has all of it). */
export interface ProbeSettings {
  readonly serverUrl: string;
  readonly pingUrl: string;
  readonly probeUrls: readonly string[];
  readonly name: string;
  readonly intervalSeconds: number;
  readonly timeoutMs: number;
  readonly probes: ProbeConfig;
}

export interface ProbeStart {
  readonly config: ProbeSettings;
  readonly log: Logger;
  /** Served on the listener as /healthz and /readyz. */
  readonly health?: HealthSource;
  /**
   * The peers and cluster DNS replicas the exporter assigned, shared by the probes that use them:
   * the peer probe replaces both after its round's awaits (without a listener, the DNS replica
   * probe replaces the replicas); the others read them synchronously when their round starts, so
   * every probe of a round sees the same lists.
   */
  readonly assigned: { peers: readonly Peer[]; dnsReplicas: readonly string[] };
}

/** A started probe: one call per round; stop releases what it holds (sockets, timers). */
export interface RunningProbe {
  round(limits: Required<ProbeLimits>): Promise<ProbeFields>;
  stop?(): Promise<void>;
}

/** A row of the probe table: null when the probe's flags turn it off. Throws only on a startup error. */
export type ProbeRow = (start: ProbeStart) => Promise<RunningProbe | null>;
