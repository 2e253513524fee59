// Agent configuration: the flag table (also printed by `netchecker agent --help`) and its parse
// into one frozen, validated AgentConfig. Accepts the original Go agent's single-dash flags.

import { isIP } from 'node:net';
import { type Command, type CommandArgs, parseCommand } from '../lib/command.js';
import { badFlag, type FlagSpec, type FlagValues } from '../lib/flags.js';
import { glogFlags } from '../lib/glog-flags.js';
import { LOG_LEVELS, type LogLevel } from '../lib/log.js';
import { parseListenAddress, splitHostPort } from '../report/address.js';
import { isValidAgentName, LIMITS, NETWORKS, networkOf, type Network } from '../report/schema.js';
import { parseResolver } from './probes/dns.js';
import { DEFAULT_API_SERVER_CA } from './probes/api-server.js';
import type { ProbeConfig, ProbeSettings } from './probes/probe.js';

export const DEFAULT_SERVER = 'http://netchecker-service:8081';
/** The exporter cuts an all-zero padding of up to 65,535 entries before its pre-scan; a longer one counts against its entry bound. */
const ZERO_EXTENDER_MAX = 65_535;

export const AGENT_FLAGS = [
  { name: 'server', kind: 'string', metavar: 'URL', help: `Exporter base URL that reports go to (default ${DEFAULT_SERVER}).` },
  {
    name: 'interval',
    kind: 'number',
    integer: true,
    ...LIMITS.intervalSeconds,
    unit: 'seconds',
    aliases: ['reportinterval'],
    default: 60,
    help: 'Seconds between reports.',
  },
  {
    name: 'probe-urls',
    kind: 'string',
    list: true,
    metavar: 'URL,...',
    aliases: ['probeurls'],
    default: [],
    help: 'Extra http(s) URLs to probe (a semicolon separates them too).',
  },
  {
    name: 'zero-extender-length',
    kind: 'number',
    integer: true,
    min: 0,
    max: ZERO_EXTENDER_MAX,
    metavar: 'N',
    aliases: ['zeroextenderlength'],
    default: 1500,
    help: 'Zeros padding each report so it exceeds the MTU.',
  },
  { name: 'name', kind: 'string', env: 'MY_POD_NAME', help: 'Agent name: the pod name (required).' },
  { name: 'node', kind: 'string', env: 'MY_NODE_NAME', default: '', help: 'Node name; may be empty.' },
  {
    name: 'network',
    kind: 'string',
    choices: NETWORKS,
    env: 'NETCHECKER_NETWORK',
    help: 'Network the agent runs in (default: host when the name contains "hostnet", else pod).',
  },
  {
    name: 'timeout',
    kind: 'number',
    unit: 'seconds',
    help: 'Timeout per probe and per send attempt; more than 0 and less than --interval (default min(5, interval/2)).',
  },
  { name: 'log-level', kind: 'string', choices: LOG_LEVELS, default: 'info', help: 'Least severe log level written.' },
  {
    name: 'dns-server',
    kind: 'string',
    list: true,
    metavar: 'IP[:PORT],...',
    help: 'Resolvers to probe (default: the nameservers of /etc/resolv.conf when running in Kubernetes, else no DNS probes).',
  },
  {
    name: 'dns-names',
    kind: 'string',
    list: true,
    metavar: 'NAME,...',
    help: "Names to look up on each resolver (default: the exporter's service name and kubernetes.default.svc.<cluster domain>); add an external name here to probe one.",
  },
  { name: 'cluster-domain', kind: 'string', default: 'cluster.local', help: 'Cluster DNS domain for the default --dns-names.' },
  {
    name: 'listen',
    kind: 'string',
    metavar: 'HOST:PORT',
    env: 'NETCHECKER_LISTEN',
    help: 'Serve the listener peers probe (and /healthz, /readyz) here and probe the peers the exporter assigns (default: off).',
  },
  {
    name: 'advertise',
    kind: 'string',
    list: true,
    metavar: 'IP[,IP]',
    env: 'MY_POD_IP',
    help: "Addresses peers reach the listener on, at most one IPv4 and one IPv6 (the downward API's status.podIPs); both: peers are probed over each family (default: the --listen host, or the first non-loopback address of each family the listener is bound to).",
  },
  {
    name: 'peer-attempts',
    kind: 'number',
    integer: true,
    min: 1,
    max: LIMITS.peerAttemptsMax,
    metavar: 'N',
    default: 3,
    help: 'HTTP round trips per peer per round; unanswered ones count as loss.',
  },
  {
    name: 'mtu-sizes',
    kind: 'number',
    list: true,
    integer: true,
    ...LIMITS.mtuBytes,
    unit: 'bytes',
    metavar: 'BYTES,...',
    default: [1200, 1400, 1450, 1500],
    help: "Packet sizes of the don't-fragment path MTU probes to the exporter and peers; empty turns them off.",
  },
  {
    name: 'icmp',
    kind: 'bool',
    default: true,
    help: 'ICMP probes through the system ping (needs CAP_NET_RAW or ping_group_range); --no-icmp turns them off.',
  },
  {
    name: 'api-server',
    kind: 'bool',
    default: true,
    help: 'Check the Kubernetes API server every round, when running in Kubernetes (env KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT): TCP and an HTTPS GET without credentials, through that address and through --api-server-name; --no-api-server turns it off.',
  },
  {
    name: 'api-server-name',
    kind: 'string',
    metavar: 'HOST',
    help: "The API server's DNS name, checked at KUBERNETES_SERVICE_PORT (default kubernetes.default.svc.<--cluster-domain>).",
  },
  {
    name: 'api-server-path',
    kind: 'string',
    metavar: 'PATH',
    default: '/readyz',
    help: 'Path of the HTTPS GET; one anonymous requests may read (/readyz or /version). A 401 or 403 still proves the server answered.',
  },
  {
    name: 'api-server-ca',
    kind: 'string',
    file: true,
    metavar: 'PATH',
    help: `CA certificates (PEM) that verify the API server (default ${DEFAULT_API_SERVER_CA}; when that is not mounted the certificate is not verified, logged once).`,
  },
  {
    name: 'must-be-blocked',
    kind: 'string',
    list: true,
    metavar: 'HOST:PORT,...',
    default: [],
    help: `Targets that policy must deny from this agent (another namespace's pod port, ...): a TCP connect to each every round, and an answer is a failure. Checks policy from the agent's own pod and namespace only. At most ${LIMITS.blockedTargetsMax}; default: none.`,
  },
  {
    name: 'token-file',
    kind: 'string',
    file: true,
    metavar: 'PATH',
    env: 'NETCHECKER_TOKEN_FILE',
    help: 'File with the bearer token sent with each report, re-read before every report (deploy/ mounts a projected service account token at /var/run/secrets/netchecker/token); default: no token.',
  },
  {
    name: 'serverendpoint',
    kind: 'string',
    metavar: 'HOST:PORT',
    help: "The original agent's form of --server: http://HOST:PORT.",
    original: (endpoint) => serverEndpoint(String(endpoint)),
  },
  ...glogFlags,
] as const satisfies readonly FlagSpec[];

type AgentValues = FlagValues<typeof AGENT_FLAGS>;

/** -serverendpoint HOST:PORT as --server http://HOST:PORT. */
function serverEndpoint(endpoint: string): { values: { server: string } } | string {
  const hp = parseListenAddress(endpoint);
  // parseListenAddress reads an empty host as 0.0.0.0 (a listen address); a server needs a real one.
  const hostOk = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):/.test(endpoint);
  if (!hp || !hostOk || hp.port === 0 || !URL.canParse(`http://${endpoint}`))
    return `-serverendpoint must be HOST:PORT with a port from 1 to 65535, got "${endpoint}"`;
  return { values: { server: `http://${endpoint}` } };
}

export interface AgentConfig extends ProbeSettings {
  /** Base URL without a trailing slash. */
  readonly serverUrl: string;
  /** Where reports are POSTed: `${serverUrl}/api/v1/agents/${name}`. */
  readonly reportUrl: string;
  /** The agent->server path check, probed last. */
  readonly pingUrl: string;
  readonly intervalSeconds: number;
  readonly timeoutMs: number;
  readonly probeUrls: readonly string[];
  readonly zeroExtenderLength: number;
  readonly name: string;
  readonly nodeName: string;
  readonly network: Network;
  readonly logLevel: LogLevel;
  readonly probes: ProbeConfig;
  /** --token-file: sent as Authorization: Bearer; null: no token (the exporter runs --auth none). */
  readonly tokenFile: string | null;
  /** How the original's flags were taken, logged once at start. */
  readonly notes: readonly string[];
}

export const agentCommand: Command<typeof AGENT_FLAGS, AgentConfig> = {
  name: 'netchecker agent',
  usage: '[flags]',
  summary: 'Probes the network and reports to the exporter every interval.',
  flags: AGENT_FLAGS,
  build: buildConfig,
};

export const parseAgentConfig = (argv: readonly string[], env: NodeJS.ProcessEnv): CommandArgs<AgentConfig> =>
  parseCommand(agentCommand, argv, env);

/** The table checked each value; this checks what it cannot say (URLs, names, one flag against another). */
function buildConfig(v: AgentValues, { notes, env }: { readonly notes: readonly string[]; readonly env: NodeJS.ProcessEnv }): AgentConfig {
  const serverUrl = baseUrl(v.server ?? DEFAULT_SERVER, '--server');
  const intervalSeconds = v.interval;
  const name = v.name ?? badFlag('--name is required (or env MY_POD_NAME)');
  if (!isValidAgentName(name)) badFlag(`--name "${name}" is not a valid pod name (lowercase RFC 1123 subdomain)`);
  const path = `/api/v1/agents/${name}`;
  return Object.freeze({
    serverUrl,
    reportUrl: `${serverUrl}${path}`,
    pingUrl: `${serverUrl}/api/v1/ping`,
    intervalSeconds,
    timeoutMs: timeoutMs(v.timeout, intervalSeconds),
    probeUrls: Object.freeze(probeUrls(v['probe-urls'])),
    zeroExtenderLength: v['zero-extender-length'],
    name,
    nodeName: v.node,
    network: networkOf(name, v.network ?? null),
    logLevel: v['log-level'],
    probes: probeConfig(v, serverUrl, env),
    tokenFile: v['token-file'] || null,
    notes: Object.freeze([...notes]),
  });
}

/** An http(s) URL with a host and no query or fragment, without its trailing slash. */
function baseUrl(raw: string, flag: string): string {
  const u = httpUrl(raw);
  if (!u || u.search !== '' || u.hash !== '') badFlag(`${flag} must be an http(s) URL without query, got "${raw}"`);
  return (u as URL).href.replace(/\/+$/, '');
}

/** The exporter takes LIMITS.probesMax probes per report, the ping of the exporter being one of them. */
function probeUrls(raw: readonly string[]): string[] {
  const urls = raw.map((u) => httpUrl(u)?.href ?? badFlag(`--probe-urls: "${u}" is not an http(s) URL`));
  if (urls.length > LIMITS.probesMax - 1) badFlag(`--probe-urls: at most ${LIMITS.probesMax - 1} URLs`);
  const long = urls.find((u) => u.length > LIMITS.probeUrlMaxLength);
  if (long !== undefined) badFlag(`--probe-urls: "${long.slice(0, 60)}..." is longer than ${LIMITS.probeUrlMaxLength} characters`);
  return urls;
}

function httpUrl(raw: string): URL | null {
  try {
    const u = new URL(raw);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '' ? u : null;
  } catch {
    return null;
  }
}

function timeoutMs(seconds: number | undefined, intervalSeconds: number): number {
  if (seconds === undefined) return Math.min(5, intervalSeconds / 2) * 1000;
  if (!(seconds > 0 && seconds < intervalSeconds)) {
    badFlag(`--timeout must be more than 0 and less than --interval (${intervalSeconds} s), got ${seconds}`);
  }
  return Math.round(seconds * 1000);
}

/** The extra probes' flags; in Kubernetes (KUBERNETES_SERVICE_HOST set) DNS defaults to resolv.conf. */
function probeConfig(v: AgentValues, serverUrl: string, env: NodeJS.ProcessEnv): ProbeConfig {
  const servers = v['dns-server'] ?? null;
  for (const s of servers ?? []) if (!parseResolver(s)) badFlag(`--dns-server: "${s}" is not an IP address (optionally with :PORT)`);
  const serviceHost = new URL(serverUrl).hostname;
  const defaultNames = [
    ...(isIP(serviceHost.replace(/^\[(.*)\]$/, '$1')) ? [] : [serviceHost]),
    `kubernetes.default.svc.${v['cluster-domain']}`,
  ];
  const names = v['dns-names'] ?? defaultNames;
  const dnsOn = servers === null ? Boolean(env.KUBERNETES_SERVICE_HOST) : servers.length > 0;
  const listenRaw = v.listen || null;
  const listen = listenRaw === null ? null : (parseListenAddress(listenRaw) ?? badFlag(`--listen must be HOST:PORT, got "${listenRaw}"`));
  const advertise = v.advertise && v.advertise.length > 0 ? Object.freeze([...v.advertise]) : null;
  for (const ip of advertise ?? []) if (!isIP(ip)) badFlag(`--advertise must be IP addresses, got "${ip}"`);
  if (advertise && (advertise.length > 2 || new Set(advertise.map(isIP)).size < advertise.length))
    badFlag(`--advertise takes at most one IPv4 and one IPv6 address, got "${advertise.join(',')}"`);
  // The exporter takes only IP:PORT as a peer address: a host name to listen on needs --advertise.
  if (listen && advertise === null && !isIP(listen.host))
    badFlag(`--listen host must be an IP address (or give --advertise IP), got "${listen.host}"`);
  return Object.freeze({
    dns: dnsOn && names.length > 0 ? Object.freeze({ servers: servers && Object.freeze(servers), names: Object.freeze(names) }) : null,
    listen,
    advertise,
    peerAttempts: v['peer-attempts'],
    mtuSizes: Object.freeze([...v['mtu-sizes']]),
    icmp: v.icmp,
    apiServer: apiServerConfig(v, env),
    mustBeBlocked: Object.freeze(mustBeBlocked(v['must-be-blocked'])),
  });
}

/** HOST:PORT targets, each once: every one is a label value of the exporter's series while it answers. */
function mustBeBlocked(raw: readonly string[]): string[] {
  const targets = [...new Set(raw)];
  for (const t of targets) {
    const hp = splitHostPort(t);
    if (!hp || hp.host === '' || hp.port === 0 || t.length > LIMITS.nameMaxLength + 8)
      badFlag(`--must-be-blocked: "${t}" is not HOST:PORT with a port from 1 to 65535`);
  }
  if (targets.length > LIMITS.blockedTargetsMax) badFlag(`--must-be-blocked: at most ${LIMITS.blockedTargetsMax} targets`);
  return targets;
}

/** On in Kubernetes only: the Service address comes from the env every pod gets. */
function apiServerConfig(v: AgentValues, env: NodeJS.ProcessEnv): ProbeConfig['apiServer'] {
  const path = v['api-server-path'];
  if (!/^\/[\x21-\x7e]*$/.test(path)) badFlag(`--api-server-path must be a URL path starting with /, got "${path}"`);
  const name = v['api-server-name'] || `kubernetes.default.svc.${v['cluster-domain']}`;
  if (!URL.canParse(`https://${name.includes(':') ? `[${name}]` : name}/`))
    badFlag(`--api-server-name must be a host name or IP address, got "${name}"`);
  const host = env.KUBERNETES_SERVICE_HOST;
  if (!v['api-server'] || !host) return null;
  const port = Number(env.KUBERNETES_SERVICE_PORT || 443);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    badFlag(`KUBERNETES_SERVICE_PORT must be a port from 1 to 65535, got "${env.KUBERNETES_SERVICE_PORT}"`);
  return Object.freeze({
    targets: Object.freeze([
      { via: 'service' as const, host, port },
      { via: 'dns' as const, host: name, port },
    ]),
    path,
    caFile: v['api-server-ca'] || null,
  });
}
