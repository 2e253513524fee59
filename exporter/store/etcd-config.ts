// The etcd store's flags and their validation, parsed once with the exporter's config. Files
// (CA, client certificate and key) are only named here; the store reads them when it opens.

import { type FlagSpec, type FlagValues, splitList } from '../../lib/flags.js';
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

export const etcdFlags: readonly FlagSpec[] = [
  { name: 'etcd-endpoints', kind: 'string', metavar: 'URL[,URL...]', env: 'NETCHECKER_ETCD_ENDPOINTS', help: 'etcd client URLs for --store etcd, e.g. https://etcd-0.etcd:2379 (all http:// or all https://).' },
  { name: 'etcd-prefix', kind: 'string', metavar: 'PATH', default: '/netchecker', help: 'Key prefix in etcd; every exporter sharing a prefix shares the state.' },
  { name: 'etcd-ca', kind: 'string', metavar: 'PATH', help: 'PEM CA bundle that must have signed the etcd server certificate (https:// endpoints).' },
  { name: 'etcd-cert', kind: 'string', metavar: 'PATH', help: 'PEM client certificate for etcd (with --etcd-key).' },
  { name: 'etcd-key', kind: 'string', metavar: 'PATH', help: 'PEM private key of --etcd-cert.' },
  { name: 'etcd-timeout', kind: 'number', metavar: 'SECONDS', default: 2, help: 'Deadline of every etcd call; past it (for a report: past 1.25 s at most) the report is queued for write-back and the store is not ready.' },
  { name: 'etcd-max-request-bytes', kind: 'number', metavar: 'BYTES', default: ETCD_DEFAULT_MAX_REQUEST_BYTES, help: "The etcd server's --max-request-bytes (etcd's default here): records up to 2048 bytes less are stored, larger reports get 413; loads read pages sized from it." },
  { name: 'etcd-queue-max', kind: 'number', metavar: 'AGENTS', default: 100_000, help: 'Agents whose latest report may wait in memory for write-back while etcd is unavailable; past it (or with 0) reports are answered 503.' },
];

const ENDPOINT = /^(https?):\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
const PREFIX = /^\/[\x21-\x7e]*$/;

export type EtcdConfigResult = { ok: true; value: EtcdConfig | null } | { ok: false; error: string };

/** The etcd part of the config: null unless --store etcd; flags given for another store are an error. */
export function parseEtcdConfig(v: FlagValues, store: string): EtcdConfigResult {
  const str = (name: string): string | undefined => (typeof v[name] === 'string' && v[name] !== '' ? (v[name] as string) : undefined);
  const err = (error: string): EtcdConfigResult => ({ ok: false, error });
  if (store !== 'etcd') {
    const given = ['etcd-endpoints', 'etcd-ca', 'etcd-cert', 'etcd-key'].find((n) => str(n) !== undefined);
    return given ? err(`--${given} needs --store etcd`) : { ok: true, value: null };
  }
  const endpoints = splitList(str('etcd-endpoints') ?? '').map((e) => e.replace(/\/$/, ''));
  if (endpoints.length === 0) return err('--etcd-endpoints is required with --store etcd');
  const schemes = new Set<string>();
  for (const e of endpoints) {
    const m = ENDPOINT.exec(e);
    const port = Number(m?.[3]);
    if (!m || port < 1 || port > 65535) return err(`--etcd-endpoints must be http:// or https:// URLs with a host and port, got "${e}"`);
    schemes.add(m[1] as string);
  }
  if (schemes.size > 1) return err('--etcd-endpoints must all use the same scheme, http:// or https://');
  const tls = schemes.has('https');
  const prefix = String(v['etcd-prefix']);
  if (!PREFIX.test(prefix) || prefix.length > 256 || (prefix.length > 1 && prefix.endsWith('/'))) {
    return err(`--etcd-prefix must start with "/", not end with "/" and have no spaces, got "${prefix}"`);
  }
  const [caFile, certFile, keyFile] = [str('etcd-ca'), str('etcd-cert'), str('etcd-key')];
  if ((certFile === undefined) !== (keyFile === undefined)) return err('--etcd-cert and --etcd-key must be given together');
  if (!tls && (caFile ?? certFile) !== undefined) return err('--etcd-ca, --etcd-cert and --etcd-key need https:// endpoints');
  const timeout = v['etcd-timeout'] as number;
  if (!(timeout >= 0.1 && timeout <= 60)) return err('--etcd-timeout must be a number from 0.1 to 60');
  const queueMax = v['etcd-queue-max'] as number;
  if (!(Number.isInteger(queueMax) && queueMax >= 0 && queueMax <= 10_000_000)) return err('--etcd-queue-max must be an integer from 0 to 10000000');
  const maxRequestBytes = v['etcd-max-request-bytes'] as number;
  if (!(Number.isInteger(maxRequestBytes) && maxRequestBytes >= 65_536 && maxRequestBytes <= 256 * 1024 * 1024)) {
    return err('--etcd-max-request-bytes must be an integer from 65536 to 268435456');
  }
  return {
    ok: true,
    value: Object.freeze({
      endpoints: Object.freeze([...endpoints]),
      prefix: prefix === '/' ? '' : prefix,
      tls,
      caFile,
      certFile,
      keyFile,
      timeoutMs: Math.round(timeout * 1000),
      queueMax,
      maxRequestBytes,
    }),
  };
}
