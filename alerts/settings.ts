// Settings of the generated alert bundle: thresholds, `for:` overrides, how long alerts keep
// firing once their series vanish, the scrape job of the exporter (the selector every expression
// carries), the cluster label every aggregation keeps, and where runbooks live. The rule files in alerts/rules/ carry the defaults literally
// (they stay plain Prometheus rule files anyone can load); the generator swaps in other values.

export const DEFAULT_RUNBOOK_BASE_URL = 'https://github.com/netchecker/netchecker/blob/main/docs/runbooks';
/** The job the ServiceMonitors of deploy/ give: the exporter's Service name. */
export const DEFAULT_EXPORTER_JOB = 'netchecker-service';
export const DEFAULT_CLUSTER_LABEL = 'cluster';
/** Longer than ExporterDown needs to fire after the exporter's series vanish (docs/alerts.md). */
export const DEFAULT_KEEP_FIRING_FOR = '5m';

/** One tunable number: the alerts whose expr holds it, and its default exactly as written there. */
export interface Threshold {
  readonly alerts: readonly string[];
  readonly default: number;
  readonly help: string;
}

export const THRESHOLDS = {
  nodeUnreachableRatio: { alerts: ['NetcheckerNodeUnreachable'], default: 0.5, help: 'share of its probers that cannot reach an agent' },
  nodeReachesFewPeersRatio: { alerts: ['NetcheckerNodeReachesFewPeers'], default: 0.6, help: 'share of its peers an agent cannot reach' },
  networkDegradedAgentRatio: {
    alerts: ['NetcheckerPodNetworkDegraded', 'NetcheckerHostNetworkDegraded'],
    default: 0.4,
    help: "share of a network's agents that reach fewer than half of their peers in it",
  },
  packetLossRatio: {
    alerts: ['NetcheckerPacketLoss'],
    default: 0.05,
    help: 'probe loss to a node as its probers see it, averaged over 5 minutes',
  },
  highLatencySeconds: {
    alerts: ['NetcheckerHighLatency'],
    default: 0.05,
    help: 'median round trip to a node as its probers see it, averaged over 10 minutes',
  },
  apiServerUnreachableRatio: {
    alerts: ['NetcheckerApiServerUnreachable', 'NetcheckerNodeApiServerUnreachable'],
    default: 0.5,
    help: 'share of agents that cannot reach the API server: above it the cluster alert fires, at or below it the per-node one',
  },
  clusterDnsFailingRatio: { alerts: ['NetcheckerClusterDnsFailing'], default: 0.5, help: 'share of agents whose DNS fails' },
  dnsReplicaFailingRatio: {
    alerts: ['NetcheckerDnsReplicaFailing'],
    default: 0.5,
    help: 'share of agents whose direct query to one cluster DNS replica fails: above it the replica alert fires, while another replica stays below it',
  },
  dnsSlowSeconds: { alerts: ['NetcheckerDnsSlow'], default: 0.25, help: 'average DNS latency over 10 minutes' },
  clockSkewSeconds: { alerts: ['NetcheckerClockSkew'], default: 1, help: 'absolute clock offset of an agent' },
} as const satisfies Record<string, Threshold>;

export type ThresholdName = keyof typeof THRESHOLDS;

export interface Settings {
  readonly runbookBaseUrl: string;
  /** Scrape job of the exporter: every selector carries job="<exporterJob>". */
  readonly exporterJob: string;
  /** Label telling clusters apart on a global ruler; every aggregation and join keeps it. */
  readonly clusterLabel: string;
  /** Prometheus duration every alert but ExporterDown keeps firing after its series vanish. */
  readonly keepFiringFor: string;
  readonly thresholds: Readonly<Record<ThresholdName, number>>;
  /** alert name -> Prometheus duration, replacing the rule file's `for:`. */
  readonly for: Readonly<Record<string, string>>;
  /** Also emit the original netchecker's example alerts (alerts/legacy/). */
  readonly legacy: boolean;
}

export const DEFAULT_SETTINGS: Settings = Object.freeze({
  runbookBaseUrl: DEFAULT_RUNBOOK_BASE_URL,
  exporterJob: DEFAULT_EXPORTER_JOB,
  clusterLabel: DEFAULT_CLUSTER_LABEL,
  keepFiringFor: DEFAULT_KEEP_FIRING_FOR,
  thresholds: Object.freeze(
    Object.fromEntries(Object.entries(THRESHOLDS).map(([k, v]) => [k, v.default])) as Record<ThresholdName, number>,
  ),
  for: Object.freeze({}),
  legacy: false,
});

const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;
const LABEL_VALUE = /^[A-Za-z0-9_.:/-]{1,128}$/;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** Labels the rules group by already; a cluster label of that name would collapse them. */
const TAKEN_LABELS = [
  'namespace',
  'job',
  'instance',
  'pod',
  'agent',
  'node',
  'network',
  'peer',
  'peer_node',
  'peer_network',
  'state',
  'status',
  'target',
  'le',
];
const KEYS = ['runbookBaseUrl', 'exporterJob', 'clusterLabel', 'keepFiringFor', 'thresholds', 'for', 'legacy'];

export type ParsedSettings = { ok: true; value: Settings } | { ok: false; error: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates settings from a file (any shape) over the defaults; `alertNames` are the known alerts. */
export function parseSettings(input: unknown, alertNames: ReadonlySet<string>): ParsedSettings {
  if (input === null || input === undefined) return { ok: true, value: DEFAULT_SETTINGS };
  if (!isRecord(input)) return { ok: false, error: 'settings must be a mapping' };
  const unknown = Object.keys(input).filter((k) => !KEYS.includes(k));
  if (unknown.length > 0) return { ok: false, error: `unknown setting "${unknown[0]}" (known: ${KEYS.join(', ')})` };
  const {
    runbookBaseUrl = DEFAULT_RUNBOOK_BASE_URL,
    exporterJob = DEFAULT_EXPORTER_JOB,
    clusterLabel = DEFAULT_CLUSTER_LABEL,
    keepFiringFor = DEFAULT_KEEP_FIRING_FOR,
    thresholds = {},
    for: forIn = {},
    legacy = false,
  } = input;
  if (typeof runbookBaseUrl !== 'string' || !/^https?:\/\/[^\s"'{}]+[^/\s"'{}]$/.test(runbookBaseUrl)) {
    return { ok: false, error: 'runbookBaseUrl must be an http(s) URL without a trailing slash' };
  }
  if (typeof exporterJob !== 'string' || !LABEL_VALUE.test(exporterJob))
    return { ok: false, error: 'exporterJob must be a job name (letters, digits, _ . : / -)' };
  if (
    typeof clusterLabel !== 'string' ||
    !LABEL_NAME.test(clusterLabel) ||
    clusterLabel.startsWith('__') ||
    TAKEN_LABELS.includes(clusterLabel)
  ) {
    return { ok: false, error: `clusterLabel must be a label name other than ${TAKEN_LABELS.join(', ')}` };
  }
  if (typeof keepFiringFor !== 'string' || !DURATION.test(keepFiringFor))
    return { ok: false, error: `keepFiringFor must be a Prometheus duration such as 5m, got ${JSON.stringify(keepFiringFor)}` };
  if (typeof legacy !== 'boolean') return { ok: false, error: 'legacy must be true or false' };
  if (!isRecord(thresholds)) return { ok: false, error: 'thresholds must be a mapping' };
  const values = { ...DEFAULT_SETTINGS.thresholds };
  for (const [name, v] of Object.entries(thresholds)) {
    if (!(name in THRESHOLDS)) return { ok: false, error: `unknown threshold "${name}" (known: ${Object.keys(THRESHOLDS).join(', ')})` };
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) return { ok: false, error: `threshold ${name} must be a positive number` };
    values[name as ThresholdName] = v;
  }
  if (!isRecord(forIn)) return { ok: false, error: 'for must be a mapping of alert name to duration' };
  for (const [name, v] of Object.entries(forIn)) {
    if (!alertNames.has(name)) return { ok: false, error: `for: unknown alert "${name}"` };
    if (typeof v !== 'string' || !DURATION.test(v))
      return { ok: false, error: `for: ${name} must be a Prometheus duration such as 5m, got ${JSON.stringify(v)}` };
  }
  return {
    ok: true,
    value: Object.freeze({
      runbookBaseUrl,
      exporterJob,
      clusterLabel,
      keepFiringFor,
      thresholds: Object.freeze(values),
      for: Object.freeze({ ...(forIn as Record<string, string>) }),
      legacy,
    }),
  };
}
