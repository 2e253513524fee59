// The report: the wire contract between agents (ours and the original Go agent) and the exporter.
// The agent builds a WireReport; the exporter decodes any JSON body into a Report (decode.ts).
// Keys of the compat part are the original's (snake_case, probe keys Capitalised); our own
// additions are extra keys the original server ignored, so our agent stays a superset.

export const NETWORKS = ['pod', 'host'] as const;
export type Network = (typeof NETWORKS)[number];

/**
 * IP families, as wire keys and as the `family` label's values. Only a dual-stack agent (an
 * address of each) sends them; a single-stack one sends what it sent before, nothing per family.
 */
export const IP_FAMILIES = ['ipv4', 'ipv6'] as const;
export type IpFamily = (typeof IP_FAMILIES)[number];

/** IP:PORT per family (report/address.ts), one of each: where a dual-stack agent's listener is reached. */
export type ByFamily = Partial<Record<IpFamily, string>>;

/** Original agents send this for a saturated Go duration (MaxInt64 ns in ms): unknown, not latency. */
export const SATURATED_MS = 9223372036854;

/** Limits both sides agree on; the exporter rejects reports beyond them. */
export const LIMITS = {
  intervalSeconds: { min: 1, max: 3600 },
  nameMaxLength: 253,
  stringMaxLength: 2048,
  /**
   * HTTP probes per report (the original's --probeurls plus its ping of the server) and the length
   * of their URLs: each URL is a label value of 8 legacy series, so these two bound the bytes an
   * agent adds to /metrics (docs/security.md).
   */
  probesMax: 32,
  probeUrlMaxLength: 512,
  interfacesMax: 4096,
  addressesMax: 1024,
  nestingMax: 16,
  dnsQueriesMax: 64,
  peersMax: 256,
  peerAttemptsMax: 100,
  mtuBytes: { min: 68, max: 65535 },
  /** --must-be-blocked targets: each is a label value of its sparse series while it answers. */
  blockedTargetsMax: 16,
  /** Cluster DNS replicas an agent queries directly (the exporter hands out at most this many). */
  dnsReplicasMax: 64,
  lagMsMax: 3_600_000,
} as const;

/** DNS result classes: the rcode (or its absence) of one query, as JSON value and label value. */
export const DNS_RESULTS = ['ok', 'nxdomain', 'servfail', 'refused', 'timeout', 'other'] as const;
export type DnsResult = (typeof DNS_RESULTS)[number];

/**
 * Result classes of every agent probe: the wire's `Result` and peers' `result` values, the
 * exporter's label values and alert matchers. The decoder takes any short lowercase word for a
 * peer result, so that an agent newer than its exporter is not refused. DNS queries go on the
 * wire in their own older words (DNS_RESULTS, mapped from these by the agent).
 */
export const RESULT_CLASSES = [
  'ok',
  'timeout',
  'refused',
  'reset',
  'unreachable',
  'dns_nxdomain',
  'dns_servfail',
  'dns_refused',
  'dns_error',
  'tls_error',
  'http_error',
  // ICMP: a don't-fragment echo the path could not carry; ping cannot run or may not send.
  'too_big',
  'unavailable',
  'error',
] as const;
export type ResultClass = (typeof RESULT_CLASSES)[number];

/** Ours: one DNS query of the round. */
export interface WireDns {
  server: string;
  name: string;
  result: DnsResult;
  /** null when no answer arrived. */
  latency_ms: number | null;
  /** Dual-stack agents only: the family asked (ipv4: an A query, ipv6: AAAA); absent: an A query, as before. */
  family?: IpFamily;
}

/** Ours: the probes of one assigned peer in the round. */
export interface WirePeer {
  name: string;
  node: string;
  network: Network;
  /** Result class of the peer (ok when at least one attempt answered, else the first failure's class). */
  result: string;
  sent: number;
  lost: number;
  /** Fastest HTTP round trip that answered; null when none did. */
  rtt_ms: number | null;
  /** The family probed, when both agents are dual-stack (one result per family); absent otherwise. */
  family?: IpFamily;
}

/** How an agent reaches the API server: the Service address its pod is given, or the Service's DNS name. */
export const API_SERVER_VIAS = ['service', 'dns'] as const;
export type ApiServerVia = (typeof API_SERVER_VIAS)[number];

/** Ours: one check of the API server (one HTTPS GET on a fresh connection, no credentials). */
export interface WireApiServer {
  via: ApiServerVia;
  /** HOST:PORT the agent connected to. */
  target: string;
  /** Result class of the TCP connect: ok once connected, else the failure's class. */
  tcp_result: string;
  /** TCP handshake, ms; null when it did not complete. */
  tcp_ms: number | null;
  /** Result class of the HTTPS GET: ok for 2xx, 3xx and the 401/403 of a server that refuses anonymous requests. */
  result: string;
  /** 0 when no response arrived. */
  http_code: number;
  /** Whole GET (connect, TLS, answer), ms; null without an answer. */
  latency_ms: number | null;
}

/** Ours: one connect to a target that policy must deny (--must-be-blocked). */
export interface WireBlocked {
  /** HOST:PORT as the operator gave it. */
  target: string;
  /** Result class of the TCP connect: ok means the path is OPEN, a failure of the check. */
  result: string;
}

/** Ours: the agent's probe of the exporter's /api/v1/ping over one IP family. */
export interface WireFamilyPing {
  /** Result class: ok when the ping answered 2xx. */
  result: string;
  /** Whole GET, ms; null without an answer. */
  latency_ms: number | null;
}

/** Ours: one query sent straight to one cluster DNS replica (an endpoint of the DNS Service). */
export interface WireDnsReplica {
  /** IP:PORT of the replica, as the exporter handed it out. */
  address: string;
  /** Result class of the query (RESULT_CLASSES: ok, timeout, dns_servfail, ...). */
  result: string;
  /** null when no answer arrived. */
  latency_ms: number | null;
}

/** Ours: the agent's view of its own health while it measured. */
export interface WireIntegrity {
  event_loop_lag_ms: number;
  /** Throttled share of cgroup CPU periods in the round; null without cgroup cpu.stat. */
  cpu_throttled_ratio: number | null;
  starved: boolean;
}

/** One HTTP probe on the wire. Integer ms for the original keys; our agent adds precise phases. */
export interface WireProbe {
  URL: string;
  ConnectionResult: number;
  HTTPCode: number;
  Total: number;
  ContentTransfer: number;
  TCPConnection: number;
  DNSLookup: number;
  Connect: number;
  ServerProcessing: number;
  /** Ours: the result class (ok, timeout, refused, ...). */
  Result?: string;
  /** Ours: phase durations in milliseconds with sub-millisecond precision. */
  PhasesMs?: Partial<Record<Phase, number>>;
}

export interface WireReport {
  report_interval: number;
  nodename: string;
  podname: string;
  hostdate: string;
  uptime?: number;
  nslookup: Record<string, string[]> | null;
  ips: Record<string, string[]> | null;
  network_probes: WireProbe[] | null;
  zero_extender: number[];
  /** Ours: which network the agent runs in; the original derived it from the pod name. */
  network?: Network;
  /** Ours: agent version. */
  agent_version?: string;
  /** Ours: when the agent process started (RFC 3339): a new value is a restart. */
  agent_started?: string;
  /** Ours: where peers reach this agent's listener, HOST:PORT. */
  listen?: string;
  /** Ours, dual-stack agents only: the listener's address in each family (`listen` is one of them). */
  listen_by_family?: ByFamily;
  /** Ours, dual-stack agents whose exporter name has an address of each family: the ping per family. */
  exporter_by_family?: Partial<Record<IpFamily, WireFamilyPing>>;
  dns?: WireDns[];
  peers?: WirePeer[];
  icmp_available?: boolean;
  /** Ours: largest don't-fragment size that passed, bytes; null when unknown. */
  path_mtu?: { exporter: number | null; peers: number | null };
  integrity?: WireIntegrity;
  /** Ours: the API server checks of the round, at most one per via. */
  api_server?: WireApiServer[];
  /** Ours: the connects to targets that must stay blocked. */
  must_be_blocked?: WireBlocked[];
  /** Ours: the queries to each cluster DNS replica the exporter handed out. */
  dns_replicas?: WireDnsReplica[];
}

/** HTTP probe phases, in the order they happen. */
export const PHASES = ['dns', 'connect', 'tls', 'first_byte', 'transfer', 'total'] as const;
export type Phase = (typeof PHASES)[number];

/** A decoded probe: milliseconds, null where unknown (missing or saturated). */
export interface Probe {
  url: string;
  connectionResult: number;
  httpCode: number;
  totalMs: number | null;
  contentTransferMs: number | null;
  tcpConnectionMs: number | null;
  dnsLookupMs: number | null;
  connectMs: number | null;
  serverProcessingMs: number | null;
  result: string | null;
  phasesMs: Partial<Record<Phase, number>> | null;
}

/** A decoded, validated report. */
export interface Report {
  intervalSeconds: number;
  nodeName: string;
  podName: string;
  /** As sent, for the stored record. */
  hostDate: string | null;
  /** hostdate as epoch milliseconds, null when absent. */
  hostDateMs: number | null;
  uptimeSeconds: number | null;
  nslookup: Record<string, string[]> | null;
  ips: Record<string, string[]> | null;
  probes: Probe[] | null;
  network: Network | null;
  agentVersion: string | null;
  /** agent_started as epoch milliseconds; null when absent (the original agent). */
  agentStartedMs: number | null;
  /** Ours, optional so older stored records stay Reports; absent or null: not sent. */
  listen?: string | null;
  listenByFamily?: ByFamily | null;
  exporterByFamily?: Partial<Record<IpFamily, FamilyPing>> | null;
  dns?: DnsQuery[] | null;
  peers?: PeerResult[] | null;
  icmpAvailable?: boolean | null;
  pathMtu?: { exporterBytes: number | null; peersBytes: number | null } | null;
  integrity?: Integrity | null;
  apiServer?: ApiServerCheck[] | null;
  mustBeBlocked?: BlockedCheck[] | null;
  dnsReplicas?: DnsReplicaQuery[] | null;
}

export interface DnsReplicaQuery {
  /** IP:PORT. */
  address: string;
  result: string;
  latencyMs: number | null;
}

export interface FamilyPing {
  result: string;
  latencyMs: number | null;
}

export interface BlockedCheck {
  target: string;
  /** ok: the TCP connect succeeded, the path that must be blocked is open. */
  result: string;
}

export interface ApiServerCheck {
  via: ApiServerVia;
  target: string;
  tcpResult: string;
  tcpMs: number | null;
  result: string;
  httpCode: number;
  latencyMs: number | null;
}

export interface DnsQuery {
  server: string;
  name: string;
  result: DnsResult;
  latencyMs: number | null;
  /** Absent (or null) for an A query of a single-stack agent. */
  family?: IpFamily | null;
}

export interface PeerResult {
  name: string;
  node: string;
  network: Network;
  result: string;
  sent: number;
  lost: number;
  rttMs: number | null;
  /** Absent (or null) when the pair was probed once, not per family. */
  family?: IpFamily | null;
}

export interface Integrity {
  eventLoopLagMs: number;
  cpuThrottledRatio: number | null;
  starved: boolean;
}

/**
 * Kubernetes pod names are DNS subdomains (RFC 1123): lowercase alphanumerics, '-' and '.',
 * starting and ending alphanumeric, at most 253 characters. That also rules out '/', '..' and '%'.
 */
const POD_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

export function isValidAgentName(name: string): boolean {
  return name.length > 0 && name.length <= LIMITS.nameMaxLength && POD_NAME.test(name);
}

/** Network of an agent: what it says, else the original's rule (pod name contains "hostnet"). */
export function networkOf(name: string, declared: Network | null): Network {
  return declared ?? (name.includes('hostnet') ? 'host' : 'pod');
}
