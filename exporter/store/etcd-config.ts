// The etcd store's flags and their validation, parsed once with the exporter's config. Files
// (CA, client certificate and key) are only named here; the store reads them when it opens.

import { FlagError, type FlagSpec, type FlagValues } from '../../lib/flags.js';
import { ETCD_DEFAULT_MAX_REQUEST_BYTES } from './etcd-limits.js';

export interface EtcdConfig {
  /** gRPC targets as etcd3 takes them: `http://host:port` or `https://host:port`, one scheme for all. */
  readonly endpoints: readonly string[];
  /** Keys are `<prefix>/agents/<agent name>`. */
  readonly prefix: string;
  readonly tls: boolean;
  readonly caFile: string | undefined;
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  /** Upper bound of every etcd call (etcd3 has none of its own). */
  readonly timeoutMs: number;
  /** Agents whose report may wait in memory for write-back during an outage; 0: none (503 instead). */
  readonly queueMax: number;
  /** The etcd server's --max-request-bytes: the largest write it takes (etcd-limits.ts). */
  readonly maxRequestBytes: number;
}

export const etcdFlags = [
  {
    name: 'etcd-endpoints',
    kind: 'string',
    list: true,
    metavar: 'URL[,URL...]',
    env: 'NETCHECKER_ETCD_ENDPOINTS',
    help: 'etcd client URLs for --store etcd, e.g. https://etcd-0.etcd:2379 (all http:// or all https://).',
  },
  {
    name: 'etcd-prefix',
    kind: 'string',
    metavar: 'PATH',
    default: '/netchecker',
    help: 'Key prefix in etcd; every exporter sharing a prefix shares the state.',
  },
  {
    name: 'etcd-ca',
    kind: 'string',
    file: true,
    metavar: 'PATH',
    help: 'PEM CA bundle that must have signed the etcd server certificate (https:// endpoints).',
  },
  { name: 'etcd-cert', kind: 'string', file: true, metavar: 'PATH', help: 'PEM client certificate for etcd (with --etcd-key).' },
  { name: 'etcd-key', kind: 'string', file: true, metavar: 'PATH', help: 'PEM private key of --etcd-cert.' },
  {
    name: 'etcd-timeout',
    kind: 'number',
    min: 0.1,
    max: 60,
    unit: 'seconds',
    default: 2,
    help: 'Deadline of every etcd call; past it (for a report: past 1.25 s at most) the report is queued for write-back and the store is not ready.',
  },
  {
    name: 'etcd-max-request-bytes',
    kind: 'number',
    integer: true,
    min: 65_536,
    max: 256 * 1024 * 1024,
    unit: 'bytes',
    default: ETCD_DEFAULT_MAX_REQUEST_BYTES,
    help: "The etcd server's --max-request-bytes (etcd's default here): records up to 2048 bytes less are stored, larger reports get 413; loads read pages sized from it.",
  },
  {
    name: 'etcd-queue-max',
    kind: 'number',
    integer: true,
    min: 0,
    max: 10_000_000,
    metavar: 'AGENTS',
    default: 100_000,
    help: 'Agents whose latest report may wait in memory for write-back while etcd is unavailable; past it (or with 0) reports are answered 503.',
  },
] as const satisfies readonly FlagSpec[];

const ENDPOINT = /^(https?):\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
const PREFIX = /^\/[\x21-\x7e]*$/;

/** The etcd part of the config: null unless --store etcd; flags given for another store are an error. */
export function parseEtcdConfig(v: FlagValues<typeof etcdFlags>, store: string): EtcdConfig | null {
  const [caFile, certFile, keyFile] = [v['etcd-ca'] || undefined, v['etcd-cert'] || undefined, v['etcd-key'] || undefined];
  const endpoints = (v['etcd-endpoints'] ?? []).map((e) => e.replace(/\/$/, ''));
  if (store !== 'etcd') {
    const given = endpoints.length > 0 ? 'etcd-endpoints' : caFile ? 'etcd-ca' : certFile ? 'etcd-cert' : keyFile ? 'etcd-key' : undefined;
    if (given) throw new FlagError(`--${given} needs --store etcd`);
    return null;
  }
  if (endpoints.length === 0) throw new FlagError('--etcd-endpoints is required with --store etcd');
  const schemes = new Set<string>();
  for (const e of endpoints) {
    const m = ENDPOINT.exec(e);
    const port = Number(m?.[3]);
    if (!m || port < 1 || port > 65535)
      throw new FlagError(`--etcd-endpoints must be http:// or https:// URLs with a host and port, got "${e}"`);
    schemes.add(m[1] as string);
  }
  if (schemes.size > 1) throw new FlagError('--etcd-endpoints must all use the same scheme, http:// or https://');
  const tls = schemes.has('https');
  const prefix = v['etcd-prefix'];
  if (!PREFIX.test(prefix) || prefix.length > 256 || (prefix.length > 1 && prefix.endsWith('/'))) {
    throw new FlagError(`--etcd-prefix must start with "/", not end with "/" and have no spaces, got "${prefix}"`);
  }
  if ((certFile === undefined) !== (keyFile === undefined)) throw new FlagError('--etcd-cert and --etcd-key must be given together');
  if (!tls && (caFile ?? certFile) !== undefined) throw new FlagError('--etcd-ca, --etcd-cert and --etcd-key need https:// endpoints');
  return Object.freeze({
    endpoints: Object.freeze([...endpoints]),
    prefix: prefix === '/' ? '' : prefix,
    tls,
    caFile,
    certFile,
    keyFile,
    timeoutMs: Math.round(v['etcd-timeout'] * 1000),
    queueMax: v['etcd-queue-max'],
    maxRequestBytes: v['etcd-max-request-bytes'],
  });
}
