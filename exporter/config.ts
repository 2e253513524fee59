// Exporter configuration: the flag table, parsed once into a frozen, typed object.
// Invalid values fail at start with a message naming the flag.

import { type Cidr, parseCidr, parseListenAddress } from '../report/address.js';
import { type FlagSpec, parseFlags, splitList } from '../lib/flags.js';
import { glogFlags } from '../lib/glog-flags.js';
import { isLogLevel, type LogLevel } from '../lib/log.js';
import { type AuthConfig, authFlags, parseAuthConfig } from './auth/config.js';
import { type EtcdConfig, etcdFlags, parseEtcdConfig } from './store/etcd-config.js';
import { maxRecordBytes, RECORD_OVERHEAD_BYTES } from './store/etcd-limits.js';
import { type KubeStoreConfig, kubeStoreFlags, parseKubeStoreConfig } from './store/kube-store-config.js';
import { stores } from './store/stores.js';
import { DISCOVERIES, type DiscoveryKind } from './discovery/discoveries.js';
import { type KubernetesConfig, kubernetesFlags, parseKubernetesConfig } from './discovery/kubernetes-config.js';
import { FAILING, STATES, type State } from './verdict/verdict.js';

/** The body limit of the memory store, which holds any size: 4 MiB, far above any real report. */
const MEMORY_MAX_BODY_BYTES = 4 * 1024 * 1024;

export const exporterFlags: readonly FlagSpec[] = [
  { name: 'listen', kind: 'string', metavar: 'HOST:PORT', aliases: ['endpoint'], default: '0.0.0.0:8081', help: 'Address to serve the API and /metrics on; port 0 picks a free port.' },
  { name: 'expect', kind: 'string', metavar: 'NAME[,NAME...]', default: '', help: 'Agent (pod) names that must report. Without --expect and --expect-file, the agents that have reported are expected.' },
  { name: 'expect-file', kind: 'string', metavar: 'PATH', help: 'File with one expected agent name per line (# starts a comment).' },
  { name: 'discovery', kind: 'string', default: 'static', help: `Where the expected set comes from: ${DISCOVERIES.join(', ')}.` },
  ...kubernetesFlags,
  { name: 'failing-states', kind: 'string', metavar: 'STATE[,STATE...]', default: [...FAILING].join(','), help: `Agent states of expected agents that fail connectivity_check, from: ${STATES.filter((s) => s !== 'ok').join(', ')}. Default: every state without a fresh report except terminating (evidence only); absent,outdated excuses churn and agent faults.` },
  { name: 'store', kind: 'string', help: `Where reports are kept: ${Object.keys(stores).join(', ')} (default: etcd when --etcd-endpoints is given, as the original server, else memory).` },
  { name: 'report-ttl', kind: 'number', metavar: 'SECONDS', default: 300, help: 'Agents that are not expected and silent this long (and at least 3 intervals) are pruned from the store and /metrics.' },
  { name: 'startup-grace', kind: 'number', metavar: 'SECONDS', default: 60, help: 'After the exporter starts, expected agents that have not reported yet are "starting", not "absent", for this long (one report interval; 60 is the original agent default).' },
  { name: 'max-body-bytes', kind: 'number', metavar: 'BYTES', help: `Largest report body accepted; larger ones get 413. Default: what the store holds: ${MEMORY_MAX_BODY_BYTES} with --store memory, the largest etcd record (--etcd-max-request-bytes - ${RECORD_OVERHEAD_BYTES}) with --store etcd.` },
  { name: 'max-inflight-body-bytes', kind: 'number', metavar: 'BYTES', default: 64 * 1024 * 1024, help: 'Request body bytes held at once across all connections; a report beyond it gets 503 with Retry-After.' },
  { name: 'max-agents', kind: 'number', metavar: 'N', default: 20_000, help: 'Agents held at once; a report from a new agent beyond it gets 429 (expected agents are always taken).' },
  { name: 'max-report-interval', kind: 'number', metavar: 'SECONDS', default: 300, help: 'Longest report_interval accepted (a record is kept 3 intervals); reports asking for more get 400.' },
  { name: 'peer-cidrs', kind: 'string', metavar: 'CIDR[,CIDR...]', default: '', help: "Listen addresses handed out as peers besides the agent's own IP (its pod's, or the report's source address): for NAT or proxies in front of the exporter." },
  { name: 'write-timeout', kind: 'number', metavar: 'SECONDS', default: 30, help: 'A /metrics or /api/v1/agents/ answer not taken by its reader within this long is dropped with its connection (a scrape never needs more than its interval: 30 s in deploy/).' },
  { name: 'max-large-responses', kind: 'number', metavar: 'N', default: 32, help: 'Answers of /metrics and /api/v1/agents/ being written at once; more get 503 with Retry-After.' },
  { name: 'legacy-metrics', kind: 'bool', default: true, help: 'Serve the original server\'s ncagent_* series on /metrics (--no-legacy-metrics to turn off).' },
  { name: 'ui', kind: 'bool', default: true, help: 'Serve the status page on / (--no-ui to turn off; /api/v1/status stays).' },
  { name: 'log-level', kind: 'string', default: 'info', help: 'debug, info, warn or error.' },
  { name: 'shutdown-delay', kind: 'number', metavar: 'SECONDS', default: 5, help: 'On SIGTERM, /readyz fails at once and the exporter keeps serving this long (Service endpoints and kube-proxy catch up), then closes; it exits at the latest 10 s later.' },
  { name: 'heap-growth', kind: 'number', metavar: 'PERCENT', default: 30, help: 'After a full GC the heap may grow by this much before the next one (like GOGC): less memory for a little more CPU; 0 leaves it to V8 (0 to 300).' },
  { name: 'mesh-peers', kind: 'number', metavar: 'K', default: 10, help: 'Peers each agent probes (everybody when the cluster is smaller); every agent is probed by at least K others.' },
  ...etcdFlags,
  ...kubeStoreFlags,
  ...authFlags,
  {
    name: 'kubeproxyinit',
    kind: 'bool',
    help: "The original server's store: true kept reports in Kubernetes resources, as --store kubernetes does (AgentShard objects); false changes nothing (-etcd-endpoints selects etcd).",
    original: (kube) => (kube ? { values: { store: 'kubernetes' }, note: '-kubeproxyinit=true: reports are kept in Kubernetes resources (--store kubernetes: AgentShard objects, deploy/components/kubernetes-store)' } : {}),
  },
  ...glogFlags,
];

export interface ExporterConfig {
  readonly host: string;
  readonly port: number;
  readonly expect: readonly string[];
  readonly expectFile: string | undefined;
  readonly discovery: DiscoveryKind;
  /** Used with --discovery kubernetes. */
  readonly kubernetes: KubernetesConfig;
  /** States of expected agents that fail connectivity_check. */
  readonly failingStates: readonly State[];
  readonly store: string;
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

export type ConfigResult = { ok: true; help: false; config: ExporterConfig } | { ok: true; help: true } | { ok: false; error: string };

export function parseExporterConfig(argv: readonly string[], env: NodeJS.ProcessEnv = {}): ConfigResult {
  const parsed = parseFlags(exporterFlags, argv, env);
  if (!parsed.ok) return parsed;
  if (parsed.help) return { ok: true, help: true };
  const v = parsed.values;
  const listen = parseListenAddress(String(v.listen));
  if (!listen) return { ok: false, error: `--listen must be HOST:PORT, got "${String(v.listen)}"` };
  const discovery = String(v.discovery);
  if (!(DISCOVERIES as readonly string[]).includes(discovery)) return { ok: false, error: `--discovery must be one of ${DISCOVERIES.join(', ')}` };
  if (discovery !== 'static' && (v.expect || v['expect-file'])) return { ok: false, error: '--expect and --expect-file need --discovery static' };
  const kubernetes = parseKubernetesConfig(v);
  if (!kubernetes.ok) return kubernetes;
  const failingStates = splitList(String(v['failing-states']));
  if (failingStates.length === 0) return { ok: false, error: '--failing-states must name at least one state' };
  const badState = failingStates.find((s) => s === 'ok' || !(STATES as readonly string[]).includes(s));
  if (badState !== undefined) return { ok: false, error: `--failing-states: "${badState.slice(0, 40)}" is not one of ${STATES.filter((s) => s !== 'ok').join(', ')}` };
  const store = v.store === undefined ? (v['etcd-endpoints'] ? 'etcd' : 'memory') : String(v.store);
  if (!(store in stores)) return { ok: false, error: `--store must be one of ${Object.keys(stores).join(', ')}` };
  const etcd = parseEtcdConfig(v, store);
  if (!etcd.ok) return etcd;
  const kubeStore = parseKubeStoreConfig(v, store);
  if (!kubeStore.ok) return kubeStore;
  const auth = parseAuthConfig(v, discovery);
  if (!auth.ok) return auth;
  const range = (name: string, min: number, max: number, integer = true): string | null => {
    const n = v[name] as number;
    return n >= min && n <= max && (!integer || Number.isInteger(n)) ? null : `--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`;
  };
  const bad =
    range('report-ttl', 1, 86_400 * 30) ??
    range('startup-grace', 0, 3600, false) ??
    (v['max-body-bytes'] === undefined ? null : range('max-body-bytes', 1024, 256 * 1024 * 1024)) ??
    range('max-inflight-body-bytes', 1024, 16 * 1024 * 1024 * 1024) ??
    range('max-agents', 1, 10_000_000) ??
    range('max-report-interval', 1, 3600) ??
    range('mesh-peers', 2, 256) ??
    range('write-timeout', 1, 3600, false) ??
    range('max-large-responses', 1, 10_000) ??
    range('shutdown-delay', 0, 300, false) ??
    range('heap-growth', 0, 300);
  if (bad) return { ok: false, error: bad };
  // Unless set, a body no larger than the store can keep (a larger record still gets 413 at put).
  const maxBodyBytes = (v['max-body-bytes'] as number | undefined) ?? (etcd.value ? maxRecordBytes(etcd.value.maxRequestBytes) : MEMORY_MAX_BODY_BYTES);
  if ((v['max-inflight-body-bytes'] as number) < maxBodyBytes) return { ok: false, error: '--max-inflight-body-bytes must be at least --max-body-bytes' };
  const cidrs = splitList(String(v['peer-cidrs'])).map((c) => ({ text: c, cidr: parseCidr(c) }));
  const badCidr = cidrs.find((c) => c.cidr === null);
  if (badCidr) return { ok: false, error: `--peer-cidrs: "${badCidr.text.slice(0, 60)}" is not an IP/BITS range` };
  if (!isLogLevel(v['log-level'])) return { ok: false, error: '--log-level must be debug, info, warn or error' };
  return {
    ok: true,
    help: false,
    config: Object.freeze({
      host: listen.host,
      port: listen.port,
      expect: splitList(v.expect as string),
      expectFile: v['expect-file'] as string | undefined,
      discovery: discovery as ExporterConfig['discovery'],
      kubernetes: kubernetes.value,
      failingStates: Object.freeze([...new Set(failingStates)] as State[]),
      store,
      etcd: etcd.value,
      kubeStore: kubeStore.value,
      reportTtlSeconds: v['report-ttl'] as number,
      startupGraceSeconds: v['startup-grace'] as number,
      maxBodyBytes,
      maxInflightBodyBytes: v['max-inflight-body-bytes'] as number,
      maxAgents: v['max-agents'] as number,
      maxReportIntervalSeconds: v['max-report-interval'] as number,
      peerCidrs: Object.freeze(cidrs.map((c) => c.cidr as Cidr)),
      writeTimeoutMs: (v['write-timeout'] as number) * 1000,
      maxLargeResponses: v['max-large-responses'] as number,
      legacyMetrics: v['legacy-metrics'] as boolean,
      ui: v.ui as boolean,
      meshPeers: v['mesh-peers'] as number,
      logLevel: v['log-level'],
      auth: auth.value,
      notes: Object.freeze([...parsed.notes]),
      shutdownDelaySeconds: v['shutdown-delay'] as number,
      heapGrowthPercent: v['heap-growth'] as number,
    }),
  };
}
