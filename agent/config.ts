// Agent configuration: the flag table (also printed by `netchecker agent --help`) and its parse
// into one frozen, validated AgentConfig. Accepts the original Go agent's single-dash flags.

import { isIP } from 'node:net';
import { helpText, parseFlags, splitList, type FlagSpec } from '../lib/flags.js';
import { glogFlags } from '../lib/glog-flags.js';
import { isLogLevel, LOG_LEVELS, type LogLevel } from '../lib/log.js';
import { parseListenAddress, splitHostPort } from '../report/address.js';
import { isValidAgentName, LIMITS, NETWORKS, networkOf, type Network } from '../report/schema.js';
import { parseResolver } from './probes/dns.js';
import { DEFAULT_API_SERVER_CA } from './probes/api-server.js';
import type { ProbeConfig, ProbeSettings } from './probes/probe.js';

export const DEFAULT_SERVER = 'http://netchecker-service:8081';
/** The exporter cuts an all-zero padding of up to 65,535 entries before its pre-scan; a longer one counts against its entry bound. */
const ZERO_EXTENDER_MAX = 65_535;

export const AGENT_FLAGS: readonly FlagSpec[] = [
  { name: 'server', kind: 'string', metavar: 'URL', help: `Exporter base URL that reports go to (default ${DEFAULT_SERVER}).` },
  { name: 'interval', kind: 'number', metavar: 'SECONDS', aliases: ['reportinterval'], default: 60, help: 'Seconds between reports.' },
  { name: 'probe-urls', kind: 'string', metavar: 'URLS', aliases: ['probeurls'], default: '', help: 'Extra http(s) URLs to probe, comma or semicolon separated.' },
  { name: 'zero-extender-length', kind: 'number', metavar: 'N', aliases: ['zeroextenderlength'], default: 1500, help: 'Zeros padding each report so it exceeds the MTU.' },
  { name: 'name', kind: 'string', env: 'MY_POD_NAME', help: 'Agent name: the pod name (required).' },
  { name: 'node', kind: 'string', env: 'MY_NODE_NAME', default: '', help: 'Node name; may be empty.' },
  { name: 'network', kind: 'string', metavar: 'pod|host', env: 'NETCHECKER_NETWORK', help: 'Network the agent runs in (default: host when the name contains "hostnet", else pod).' },
  { name: 'timeout', kind: 'number', metavar: 'SECONDS', help: 'Timeout per probe and per send attempt; less than --interval (default min(5, interval/2)).' },
  { name: 'log-level', kind: 'string', metavar: LOG_LEVELS.join('|'), default: 'info', help: 'Least severe log level written.' },
  { name: 'dns-server', kind: 'string', metavar: 'IP[:PORT],...', help: 'Resolvers to probe (default: the nameservers of /etc/resolv.conf when running in Kubernetes, else no DNS probes).' },
  { name: 'dns-names', kind: 'string', metavar: 'NAMES', help: "Names to look up on each resolver (default: the exporter's service name and kubernetes.default.svc.<cluster domain>); add an external name here to probe one." },
  { name: 'cluster-domain', kind: 'string', default: 'cluster.local', help: 'Cluster DNS domain for the default --dns-names.' },
  { name: 'listen', kind: 'string', metavar: 'HOST:PORT', env: 'NETCHECKER_LISTEN', help: 'Serve the listener peers probe (and /healthz, /readyz) here and probe the peers the exporter assigns (default: off).' },
  { name: 'advertise', kind: 'string', metavar: 'IP', env: 'MY_POD_IP', help: "Address peers reach the listener on (default: the --listen host, or the first non-loopback IPv4 address)." },
  { name: 'peer-attempts', kind: 'number', default: 3, help: 'HTTP round trips per peer per round; unanswered ones count as loss.' },
  { name: 'mtu-sizes', kind: 'string', metavar: 'BYTES,...', default: '1200,1400,1450,1500', help: 'Packet sizes of the don\'t-fragment path MTU probes to the exporter and peers; empty turns them off.' },
  { name: 'icmp', kind: 'bool', default: true, help: 'ICMP probes through the system ping (needs CAP_NET_RAW or ping_group_range); --no-icmp turns them off.' },
  { name: 'api-server', kind: 'bool', default: true, help: 'Check the Kubernetes API server every round, when running in Kubernetes (env KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT): TCP and an HTTPS GET without credentials, through that address and through --api-server-name; --no-api-server turns it off.' },
  { name: 'api-server-name', kind: 'string', metavar: 'HOST', help: "The API server's DNS name, checked at KUBERNETES_SERVICE_PORT (default kubernetes.default.svc.<--cluster-domain>)." },
  { name: 'api-server-path', kind: 'string', metavar: 'PATH', default: '/readyz', help: 'Path of the HTTPS GET; one anonymous requests may read (/readyz or /version). A 401 or 403 still proves the server answered.' },
  { name: 'api-server-ca', kind: 'string', metavar: 'PATH', help: `CA certificates (PEM) that verify the API server (default ${DEFAULT_API_SERVER_CA}; when that is not mounted the certificate is not verified, logged once).` },
  { name: 'must-be-blocked', kind: 'string', metavar: 'HOST:PORT,...', default: '', help: `Targets that policy must deny from this agent (another namespace's pod port, ...): a TCP connect to each every round, and an answer is a failure. Checks policy from the agent's own pod and namespace only. At most ${LIMITS.blockedTargetsMax}; default: none.` },
  { name: 'token-file', kind: 'string', metavar: 'PATH', env: 'NETCHECKER_TOKEN_FILE', help: 'File with the bearer token sent with each report, re-read before every report (deploy/ mounts a projected service account token at /var/run/secrets/netchecker/token); default: no token.' },
  { name: 'serverendpoint', kind: 'string', metavar: 'HOST:PORT', help: "The original agent's form of --server: http://HOST:PORT.", original: (endpoint) => serverEndpoint(String(endpoint)) },
  ...glogFlags,
];

/** -serverendpoint HOST:PORT as --server http://HOST:PORT. */
function serverEndpoint(endpoint: string): { values: { server: string } } | string {
  const hp = parseListenAddress(endpoint);
  // parseListenAddress reads an empty host as 0.0.0.0 (a listen address); a server needs a real one.
  const hostOk = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):/.test(endpoint);
  if (!hp || !hostOk || hp.port === 0 || !URL.canParse(`http://${endpoint}`)) return `-serverendpoint must be HOST:PORT with a port from 1 to 65535, got "${endpoint}"`;
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

export type ParsedAgentConfig =
  | { ok: true; help: false; config: AgentConfig }
  | { ok: true; help: true }
  | { ok: false; error: string };

export function agentHelpText(): string {
  return helpText('netchecker agent [flags]', 'Probes the network and reports to the exporter every interval.', AGENT_FLAGS);
}

class ConfigError extends Error {}
const invalid = (message: string): never => {
  throw new ConfigError(message);
};

export function parseAgentConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedAgentConfig {
  const parsed = parseFlags(AGENT_FLAGS, argv, env);
  if (!parsed.ok) return parsed;
  if (parsed.help) return { ok: true, help: true };
  const v = parsed.values;
  try {
    const serverUrl = baseUrl((v.server as string | undefined) ?? DEFAULT_SERVER, '--server');
    const intervalSeconds = int(v.interval as number, 'interval', LIMITS.intervalSeconds.min, LIMITS.intervalSeconds.max);
    const name = (v.name as string | undefined) ?? invalid('--name is required (or env MY_POD_NAME)');
    if (!isValidAgentName(name)) invalid(`--name "${name}" is not a valid pod name (lowercase RFC 1123 subdomain)`);
    const network = v.network as string | undefined;
    if (network !== undefined && !NETWORKS.includes(network as Network)) invalid(`--network must be ${NETWORKS.join(' or ')}, got "${network}"`);
    const logLevel = v['log-level'] as string;
    if (!isLogLevel(logLevel)) invalid(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
    const path = `/api/v1/agents/${name}`;
    return {
      ok: true,
      help: false,
      config: Object.freeze({
        serverUrl,
        reportUrl: `${serverUrl}${path}`,
        pingUrl: `${serverUrl}/api/v1/ping`,
        intervalSeconds,
        timeoutMs: timeoutMs(v.timeout as number | undefined, intervalSeconds),
        probeUrls: Object.freeze(probeUrls(v['probe-urls'] as string)),
        zeroExtenderLength: int(v['zero-extender-length'] as number, 'zero-extender-length', 0, ZERO_EXTENDER_MAX),
        name,
        nodeName: v.node as string,
        network: networkOf(name, (network as Network | undefined) ?? null),
        logLevel: logLevel as LogLevel,
        probes: probeConfig(v, serverUrl, env),
        tokenFile: (v['token-file'] as string | undefined) || null,
        notes: Object.freeze([...parsed.notes]),
      }),
    };
  } catch (e) {
    if (e instanceof ConfigError) return { ok: false, error: e.message };
    throw e;
  }
}

/** An http(s) URL with a host and no query or fragment, without its trailing slash. */
function baseUrl(raw: string, flag: string): string {
  const u = httpUrl(raw);
  if (!u || u.search !== '' || u.hash !== '') invalid(`${flag} must be an http(s) URL without query, got "${raw}"`);
  return (u as URL).href.replace(/\/+$/, '');
}

/** The exporter takes LIMITS.probesMax probes per report, the ping of the exporter being one of them. */
function probeUrls(raw: string): string[] {
  const urls = splitList(raw).map((u) => httpUrl(u)?.href ?? invalid(`--probe-urls: "${u}" is not an http(s) URL`));
  if (urls.length > LIMITS.probesMax - 1) invalid(`--probe-urls: at most ${LIMITS.probesMax - 1} URLs`);
  const long = urls.find((u) => u.length > LIMITS.probeUrlMaxLength);
  if (long !== undefined) invalid(`--probe-urls: "${long.slice(0, 60)}..." is longer than ${LIMITS.probeUrlMaxLength} characters`);
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

function int(n: number, flag: string, min: number, max: number): number {
  if (!Number.isInteger(n) || n < min || n > max) invalid(`--${flag} must be an integer from ${min} to ${max}, got ${n}`);
  return n;
}

function timeoutMs(seconds: number | undefined, intervalSeconds: number): number {
  if (seconds === undefined) return Math.min(5, intervalSeconds / 2) * 1000;
  if (!(seconds > 0 && seconds < intervalSeconds)) {
    invalid(`--timeout must be more than 0 and less than --interval (${intervalSeconds} s), got ${seconds}`);
  }
  return Math.round(seconds * 1000);
}

/** The extra probes' flags; in Kubernetes (KUBERNETES_SERVICE_HOST set) DNS defaults to resolv.conf. */
function probeConfig(v: Record<string, unknown>, serverUrl: string, env: NodeJS.ProcessEnv): ProbeConfig {
  const servers = v['dns-server'] === undefined ? null : splitList(v['dns-server'] as string);
  for (const s of servers ?? []) if (!parseResolver(s)) invalid(`--dns-server: "${s}" is not an IP address (optionally with :PORT)`);
  const serviceHost = new URL(serverUrl).hostname;
  const defaultNames = [...(isIP(serviceHost.replace(/^\[(.*)\]$/, '$1')) ? [] : [serviceHost]), `kubernetes.default.svc.${v['cluster-domain'] as string}`];
  const names = v['dns-names'] === undefined ? defaultNames : splitList(v['dns-names'] as string);
  const dnsOn = servers === null ? Boolean(env.KUBERNETES_SERVICE_HOST) : servers.length > 0;
  const listenRaw = v.listen as string | undefined;
  const listen = listenRaw === undefined || listenRaw === '' ? null : (parseListenAddress(listenRaw) ?? invalid(`--listen must be HOST:PORT, got "${listenRaw}"`));
  const advertise = (v.advertise as string | undefined) || null;
  if (advertise !== null && !isIP(advertise)) invalid(`--advertise must be an IP address, got "${advertise}"`);
  // The exporter takes only IP:PORT as a peer address: a host name to listen on needs --advertise.
  if (listen && advertise === null && !isIP(listen.host)) invalid(`--listen host must be an IP address (or give --advertise IP), got "${listen.host}"`);
  return Object.freeze({
    dns: dnsOn && names.length > 0 ? Object.freeze({ servers: servers && Object.freeze(servers), names: Object.freeze(names) }) : null,
    listen,
    advertise,
    peerAttempts: int(v['peer-attempts'] as number, 'peer-attempts', 1, LIMITS.peerAttemptsMax),
    mtuSizes: Object.freeze(splitList(v['mtu-sizes'] as string).map((s) => int(Number(s), 'mtu-sizes', LIMITS.mtuBytes.min, LIMITS.mtuBytes.max))),
    icmp: v.icmp as boolean,
    apiServer: apiServerConfig(v, env),
    mustBeBlocked: Object.freeze(mustBeBlocked(v['must-be-blocked'] as string)),
  });
}

/** HOST:PORT targets, each once: every one is a label value of the exporter's series while it answers. */
function mustBeBlocked(raw: string): string[] {
  const targets = [...new Set(splitList(raw))];
  for (const t of targets) {
    const hp = splitHostPort(t);
    if (!hp || hp.host === '' || hp.port === 0 || t.length > LIMITS.nameMaxLength + 8) invalid(`--must-be-blocked: "${t}" is not HOST:PORT with a port from 1 to 65535`);
  }
  if (targets.length > LIMITS.blockedTargetsMax) invalid(`--must-be-blocked: at most ${LIMITS.blockedTargetsMax} targets`);
  return targets;
}

/** On in Kubernetes only: the Service address comes from the env every pod gets. */
function apiServerConfig(v: Record<string, unknown>, env: NodeJS.ProcessEnv): ProbeConfig['apiServer'] {
  const path = v['api-server-path'] as string;
  if (!/^\/[\x21-\x7e]*$/.test(path)) invalid(`--api-server-path must be a URL path starting with /, got "${path}"`);
  const name = (v['api-server-name'] as string | undefined) || `kubernetes.default.svc.${v['cluster-domain'] as string}`;
  if (!URL.canParse(`https://${name.includes(':') ? `[${name}]` : name}/`)) invalid(`--api-server-name must be a host name or IP address, got "${name}"`);
  const host = env.KUBERNETES_SERVICE_HOST;
  if (!(v['api-server'] as boolean) || !host) return null;
  const port = Number(env.KUBERNETES_SERVICE_PORT || 443);
  if (!Number.isInteger(port) || port < 1 || port > 65535) invalid(`KUBERNETES_SERVICE_PORT must be a port from 1 to 65535, got "${env.KUBERNETES_SERVICE_PORT}"`);
  return Object.freeze({
    targets: Object.freeze([
      { via: 'service' as const, host, port },
      { via: 'dns' as const, host: name, port },
    ]),
    path,
    caFile: (v['api-server-ca'] as string | undefined) || null,
  });
}
