// Exporter configuration: the flag table, parsed once into a frozen, typed object.
// Invalid values fail at start with a message naming the flag.

import { type Cidr, parseCidr, parseListenAddress } from '../report/address.js';
import { LIMITS } from '../report/schema.js';
import { type Command, type CommandArgs, parseCommand } from '../lib/command.js';
import { badFlag, type FlagSpec, type FlagValues } from '../lib/flags.js';
import { glogFlags } from '../lib/glog-flags.js';
import { LOG_LEVELS, type LogLevel } from '../lib/log.js';
import { type AuthConfig, authFlags, parseAuthConfig } from './auth/config.js';
import { type EtcdConfig, etcdFlags, parseEtcdConfig } from './store/etcd-config.js';
import { maxRecordBytes, RECORD_OVERHEAD_BYTES } from './store/etcd-limits.js';
import { type KubeStoreConfig, kubeStoreFlags, parseKubeStoreConfig } from './store/kube-store-config.js';
import { STORE_KINDS, type StoreKind } from './store/stores.js';
import { DISCOVERIES, type DiscoveryKind } from './discovery/discoveries.js';
import { type DnsReplicaConfig, parseReplicaEntry } from './discovery/dns-replicas.js';
import { type KubernetesConfig, kubernetesFlags, parseKubernetesConfig } from './discovery/kubernetes-config.js';
import { FAILING, STATES, type State } from './verdict/verdict.js';

/** The body limit of the memory store, which holds any size: 4 MiB, far above any real report. */
const MEMORY_MAX_BODY_BYTES = 4 * 1024 * 1024;

export const exporterFlags = [
  {
    name: 'listen',
    kind: 'string',
    metavar: 'HOST:PORT',
    aliases: ['endpoint'],
    default: '0.0.0.0:8081',
    help: 'Address to serve the API and /metrics on; port 0 picks a free port.',
  },
  {
    name: 'expect',
    kind: 'string',
    list: true,
    metavar: 'NAME[,NAME...]',
    default: [],
    help: 'Agent (pod) names that must report. Without --expect and --expect-file, the agents that have reported are expected.',
  },
  {
    name: 'expect-file',
    kind: 'string',
    file: true,
    metavar: 'PATH',
    help: 'File with one expected agent name per line (# starts a comment).',
  },
  { name: 'discovery', kind: 'string', choices: DISCOVERIES, default: 'static', help: 'Where the expected set comes from.' },
  ...kubernetesFlags,
  {
    name: 'dns-service',
    kind: 'string',
    metavar: 'NAMESPACE/NAME',
    default: 'kube-system/kube-dns',
    help: 'With --discovery kubernetes: the cluster DNS Service whose EndpointSlices name the DNS replicas (pods) that agents query directly; empty: no per-replica DNS checks.',
  },
  {
    name: 'dns-replicas',
    kind: 'string',
    list: true,
    metavar: 'IP[:PORT][=POD[@NODE]],...',
    default: [],
    help: 'Cluster DNS replicas that agents query directly, given by hand (port 53 when absent); replaces --dns-service. For static discovery and local mode.',
  },
  {
    name: 'failing-states',
    kind: 'string',
    list: true,
    choices: STATES.filter((s) => s !== 'ok'),
    metavar: 'STATE[,STATE...]',
    default: [...FAILING],
    help: 'Agent states of expected agents that fail connectivity_check. Default: every state without a fresh report except terminating (evidence only); absent,outdated excuses churn and agent faults.',
  },
  {
    name: 'store',
    kind: 'string',
    choices: STORE_KINDS,
    help: 'Where reports are kept (default: etcd when --etcd-endpoints is given, as the original server, else memory).',
  },
  {
    name: 'report-ttl',
    kind: 'number',
    integer: true,
    min: 1,
    max: 86_400 * 30,
    unit: 'seconds',
    default: 300,
    help: 'Agents that are not expected and silent this long (and at least 3 intervals) are pruned from the store and /metrics.',
  },
  {
    name: 'startup-grace',
    kind: 'number',
    min: 0,
    max: 3600,
    unit: 'seconds',
    default: 60,
    help: 'After the exporter starts, expected agents that have not reported yet are "starting", not "absent", for this long (one report interval; 60 is the original agent default).',
  },
  {
    name: 'max-body-bytes',
    kind: 'number',
    integer: true,
    min: 1024,
    max: 256 * 1024 * 1024,
    unit: 'bytes',
    help: `Largest report body accepted; larger ones get 413. Default: what the store holds: ${MEMORY_MAX_BODY_BYTES} with --store memory, the largest etcd record (--etcd-max-request-bytes - ${RECORD_OVERHEAD_BYTES}) with --store etcd.`,
  },
  {
    name: 'max-inflight-body-bytes',
    kind: 'number',
    integer: true,
    min: 1024,
    max: 16 * 1024 * 1024 * 1024,
    unit: 'bytes',
    default: 64 * 1024 * 1024,
    help: 'Request body bytes held at once across all connections; a report beyond it gets 503 with Retry-After.',
  },
  {
    name: 'max-agents',
    kind: 'number',
    integer: true,
    min: 1,
    max: 10_000_000,
    metavar: 'N',
    default: 20_000,
    help: 'Agents held at once; a report from a new agent beyond it gets 429 (expected agents are always taken).',
  },
  {
    name: 'max-report-interval',
    kind: 'number',
    integer: true,
    min: 1,
    max: 3600,
    unit: 'seconds',
    default: 300,
    help: 'Longest report_interval accepted (a record is kept 3 intervals); reports asking for more get 400.',
  },
  {
    name: 'peer-cidrs',
    kind: 'string',
    list: true,
    metavar: 'CIDR[,CIDR...]',
    default: [],
    help: "Listen addresses handed out as peers besides the agent's own IP (its pod's, or the report's source address): for NAT or proxies in front of the exporter.",
  },
  {
    name: 'write-timeout',
    kind: 'number',
    min: 1,
    max: 3600,
    unit: 'seconds',
    default: 30,
    help: 'A /metrics or /api/v1/agents/ answer not taken by its reader within this long is dropped with its connection (a scrape never needs more than its interval: 30 s in deploy/).',
  },
  {
    name: 'max-large-responses',
    kind: 'number',
    integer: true,
    min: 1,
    max: 10_000,
    metavar: 'N',
    default: 32,
    help: 'Answers of /metrics and /api/v1/agents/ being written at once; more get 503 with Retry-After.',
  },
  {
    name: 'legacy-metrics',
    kind: 'bool',
    default: true,
    env: 'NETCHECKER_LEGACY_METRICS',
    help: "Serve the original server's ncagent_* series on /metrics (--no-legacy-metrics to turn off).",
  },
  { name: 'ui', kind: 'bool', default: true, help: 'Serve the status page on / (--no-ui to turn off; /api/v1/status stays).' },
  { name: 'log-level', kind: 'string', choices: LOG_LEVELS, default: 'info', help: 'Least severe log level written.' },
  {
    name: 'shutdown-delay',
    kind: 'number',
    min: 0,
    max: 300,
    unit: 'seconds',
    default: 5,
    help: 'On SIGTERM, /readyz fails at once and the exporter keeps serving this long (Service endpoints and kube-proxy catch up), then closes; it exits at the latest 10 s later.',
  },
  {
    name: 'heap-growth',
    kind: 'number',
    integer: true,
    min: 0,
    max: 300,
    unit: 'percent',
    default: 30,
    help: 'After a full GC the heap may grow by this much before the next one (like GOGC): less memory for a little more CPU; 0 leaves it to V8.',
  },
  {
    name: 'mesh-peers',
    kind: 'number',
    integer: true,
    min: 2,
    max: 256,
    metavar: 'K',
    default: 10,
    help: 'Peers each agent probes (everybody when the cluster is smaller); every agent is probed by at least K others.',
  },
  ...etcdFlags,
  ...kubeStoreFlags,
  ...authFlags,
  {
    name: 'kubeproxyinit',
    kind: 'bool',
    help: "The original server's store: true kept reports in Kubernetes resources, as --store kubernetes does (AgentShard objects); false changes nothing (-etcd-endpoints selects etcd).",
    original: (kube) =>
      kube
        ? {
            values: { store: 'kubernetes' },
            note: '-kubeproxyinit=true: reports are kept in Kubernetes resources (--store kubernetes: AgentShard objects, deploy/components/kubernetes-store)',
          }
        : {},
  },
  ...glogFlags,
] as const satisfies readonly FlagSpec[];

export interface ExporterConfig {
  readonly host: string;
  readonly port: number;
  readonly expect: readonly string[];
  readonly expectFile: string | undefined;
  readonly discovery: DiscoveryKind;
  /** Used with --discovery kubernetes. */
  readonly kubernetes: KubernetesConfig;
  /** --dns-replicas, else --dns-service with --discovery kubernetes, else null: no per-replica DNS checks. */
  readonly dnsReplicas: DnsReplicaConfig;
  /** States of expected agents that fail connectivity_check. */
  readonly failingStates: readonly State[];
  readonly store: StoreKind;
  /** Set with --store etcd, null otherwise. */
  readonly etcd: EtcdConfig | null;
  /** Set with --store kubernetes, null otherwise. */
  readonly kubeStore: KubeStoreConfig | null;
  readonly reportTtlSeconds: number;
  readonly startupGraceSeconds: number;
  readonly maxBodyBytes: number;
  /** Request body bytes held at once across connections (--max-inflight-body-bytes). */
  readonly maxInflightBodyBytes: number;
  /** Agents held at once; new ones beyond it are refused. */
  readonly maxAgents: number;
  readonly maxReportIntervalSeconds: number;
  /** --peer-cidrs: peer addresses vouched for besides the agent's own IP. */
  readonly peerCidrs: readonly Cidr[];
  /** --write-timeout: a large answer must be read within this. */
  readonly writeTimeoutMs: number;
  readonly maxLargeResponses: number;
  readonly legacyMetrics: boolean;
  /** --ui: serve the status page on /. */
  readonly ui: boolean;
  readonly meshPeers: number;
  readonly logLevel: LogLevel;
  /** --auth and --metrics-auth (docs/security.md). */
  readonly auth: AuthConfig;
  /** How the original's flags were taken, logged once at start. */
  readonly notes: readonly string[];
  /** Drain delay after SIGTERM (--shutdown-delay). */
  readonly shutdownDelaySeconds: number;
  /** --heap-growth: V8's heap growing percent after a full GC; 0: V8's own. */
  readonly heapGrowthPercent: number;
}

export const exporterCommand: Command<typeof exporterFlags, ExporterConfig> = {
  name: 'netchecker exporter',
  usage: '[flags]',
  summary: 'Receives agent reports, keeps the verdict and serves the API and Prometheus metrics.',
  flags: exporterFlags,
  build: buildConfig,
};

export const parseExporterConfig = (argv: readonly string[], env: NodeJS.ProcessEnv = {}): CommandArgs<ExporterConfig> =>
  parseCommand(exporterCommand, argv, env);

/** The table checked each value; this checks what one flag says of another. */
function buildConfig(v: FlagValues<typeof exporterFlags>, { notes }: { readonly notes: readonly string[] }): ExporterConfig {
  const listen = parseListenAddress(v.listen) ?? badFlag(`--listen must be HOST:PORT, got "${v.listen}"`);
  if (v.discovery !== 'static' && (v.expect.length > 0 || v['expect-file'])) badFlag('--expect and --expect-file need --discovery static');
  const kubernetes = parseKubernetesConfig(v);
  if (v['failing-states'].length === 0) badFlag('--failing-states must name at least one state');
  const store = v.store ?? (v['etcd-endpoints']?.length ? 'etcd' : 'memory');
  const etcd = parseEtcdConfig(v, store);
  const kubeStore = parseKubeStoreConfig(v, store);
  const auth = parseAuthConfig(v, v.discovery);
  // Unless set, a body no larger than the store can keep (a larger record still gets 413 at put).
  const maxBodyBytes = v['max-body-bytes'] ?? (etcd ? maxRecordBytes(etcd.maxRequestBytes) : MEMORY_MAX_BODY_BYTES);
  if (v['max-inflight-body-bytes'] < maxBodyBytes) badFlag('--max-inflight-body-bytes must be at least --max-body-bytes');
  const dnsReplicas = dnsReplicaConfig(v['dns-replicas'], v['dns-service'], v.discovery);
  const peerCidrs = v['peer-cidrs'].map((c) => parseCidr(c) ?? badFlag(`--peer-cidrs: "${c.slice(0, 60)}" is not an IP/BITS range`));
  return Object.freeze({
    host: listen.host,
    port: listen.port,
    expect: v.expect,
    expectFile: v['expect-file'],
    discovery: v.discovery,
    kubernetes,
    dnsReplicas,
    failingStates: Object.freeze([...new Set(v['failing-states'])]),
    store,
    etcd,
    kubeStore,
    reportTtlSeconds: v['report-ttl'],
    startupGraceSeconds: v['startup-grace'],
    maxBodyBytes,
    maxInflightBodyBytes: v['max-inflight-body-bytes'],
    maxAgents: v['max-agents'],
    maxReportIntervalSeconds: v['max-report-interval'],
    peerCidrs: Object.freeze(peerCidrs),
    writeTimeoutMs: v['write-timeout'] * 1000,
    maxLargeResponses: v['max-large-responses'],
    legacyMetrics: v['legacy-metrics'],
    ui: v.ui,
    meshPeers: v['mesh-peers'],
    logLevel: v['log-level'],
    auth,
    notes: Object.freeze([...notes]),
    shutdownDelaySeconds: v['shutdown-delay'],
    heapGrowthPercent: v['heap-growth'],
  });
}

const DNS_SERVICE = /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)\/([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)$/;

/** The static list wins; the Service's slices need Kubernetes discovery (its client and credentials). */
function dnsReplicaConfig(entries: readonly string[], service: string, discovery: DiscoveryKind): DnsReplicaConfig {
  if (entries.length > LIMITS.dnsReplicasMax)
    badFlag(`--dns-replicas takes at most ${LIMITS.dnsReplicasMax} replicas, got ${entries.length}`);
  if (entries.length > 0) {
    const replicas = entries.map(
      (e) => parseReplicaEntry(e) ?? badFlag(`--dns-replicas: "${e.slice(0, 80)}" is not IP[:PORT][=POD[@NODE]]`),
    );
    if (new Set(replicas.map((r) => r.address)).size < replicas.length) badFlag('--dns-replicas must name each address once');
    return Object.freeze({ kind: 'static', replicas: Object.freeze(replicas) });
  }
  if (service === '' || discovery !== 'kubernetes') return null;
  const m = DNS_SERVICE.exec(service) ?? badFlag(`--dns-service must be NAMESPACE/NAME (a Service), got "${service.slice(0, 80)}"`);
  return Object.freeze({ kind: 'service', namespace: m[1] as string, name: m[3] as string });
}
