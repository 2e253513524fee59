// API server probe: from every node, the Kubernetes API server through the address the pod is
// given (KUBERNETES_SERVICE_HOST:PORT, via "service") and through the Service's DNS name
// (kubernetes.default.svc.<cluster domain>, via "dns"). One HTTPS GET of a path that needs no
// credentials (--api-server-path, /readyz by default) on a fresh connection gives both checks:
// the TCP connect and the answer. The agent never sends a token there. Never throws.

import { readFile } from 'node:fs/promises';
import { FlagError } from '../../lib/flags.js';
import { joinHostPort } from '../../report/address.js';
import type { ApiServerVia, ResultClass, WireApiServer } from '../../report/schema.js';
import { type HttpProbeOptions, probeHttp } from './http.js';
import type { ApiServerTarget, Outcome, ProbeOutcome, ProbeRow } from './probe.js';

/** The service account CA a pod gets when its token is mounted. */
export const DEFAULT_API_SERVER_CA = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';

export interface ApiServerOutcome extends Outcome {
  readonly via: ApiServerVia;
  readonly target: string;
  readonly tcpResult: ResultClass;
  readonly tcpMs: number | null;
  readonly httpCode: number;
  readonly latencyMs: number | null;
}

/**
 * The GET's result class for an API server: a 401 or 403 is a server that answered over TLS but
 * refuses anonymous requests (--anonymous-auth=false), so it counts as reachable. Pure.
 */
export function apiServerOutcome(t: ApiServerTarget, p: ProbeOutcome): ApiServerOutcome {
  const connected = p.phasesMs.connect !== undefined;
  const result = p.httpCode === 401 || p.httpCode === 403 ? 'ok' : p.result;
  return {
    via: t.via,
    target: hostPort(t),
    tcpResult: connected ? 'ok' : p.result,
    tcpMs: p.phasesMs.connect ?? null,
    result,
    httpCode: p.httpCode,
    latencyMs: p.httpCode > 0 ? p.phasesMs.total : null,
    ...(result === 'ok' || p.error === undefined ? {} : { error: p.error }),
  };
}

const hostPort = (t: ApiServerTarget): string => joinHostPort(t.host, t.port);

export const wireApiServer = (o: ApiServerOutcome): WireApiServer => ({
  via: o.via,
  target: o.target,
  tcp_result: o.tcpResult,
  tcp_ms: o.tcpMs,
  result: o.result,
  http_code: o.httpCode,
  latency_ms: o.latencyMs,
});

export async function probeApiServer(t: ApiServerTarget, path: string, opts: HttpProbeOptions): Promise<ApiServerOutcome> {
  return apiServerOutcome(t, await probeHttp(`https://${hostPort(t)}${path}`, opts));
}

/**
 * The CA to verify the server with. A --api-server-ca that cannot be read stops the agent (a bad
 * flag); without the flag, a missing service account CA (no token mounted) means the certificate
 * is not verified, said once at start.
 */
async function readCa(file: string | null, warn: (msg: string, fields: Record<string, unknown>) => void): Promise<string | null> {
  try {
    return await readFile(file ?? DEFAULT_API_SERVER_CA, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unreadable';
    if (file !== null) throw new FlagError(`--api-server-ca ${file}: ${code}`);
    warn('api server certificate not verified', { ca: DEFAULT_API_SERVER_CA, error: code, hint: 'give --api-server-ca' });
    return null;
  }
}

export const apiServerProbe: ProbeRow = async ({ config, log }) => {
  const p = config.probes.apiServer;
  if (!p) return null;
  const ca = await readCa(p.caFile, (msg, fields) => log.warn(msg, fields));
  return {
    round: async (limits) => ({
      api_server: (await Promise.all(p.targets.map((t) => probeApiServer(t, p.path, { ...limits, ca })))).map(wireApiServer),
    }),
  };
};
