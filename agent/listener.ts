// The tiny HTTP listener (--listen): GET / answers 200 with a short body, so a peer measures TCP
// connect and one HTTP round trip to this agent; GET /healthz and /readyz answer the kubelet's
// probes from the loop's own health (agent/health.ts), 503 with a one-line reason when the loop
// is stuck. Nothing else is served, and nothing here waits on I/O. An unspecified host (0.0.0.0,
// ::, or empty) binds both families (:: dual-stack), or IPv4 alone where the kernel has no IPv6.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthKind, HealthStatus } from './health.js';

export interface Listener {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** Whether it is bound to every address of both families (::, dual-stack). */
  readonly dualStack: boolean;
  close(): Promise<void>;
}

/** What /healthz and /readyz report; without it they are 404 like any other path. */
export interface HealthSource {
  check(kind: HealthKind): HealthStatus;
}

const HEALTH_PATHS: Readonly<Record<string, HealthKind>> = { '/healthz': 'live', '/readyz': 'ready' };

export async function startListener(host: string, port: number, health?: HealthSource): Promise<Listener> {
  const server = http.createServer({ headersTimeout: 5000, requestTimeout: 5000, keepAliveTimeout: 1000 }, (req, res) => {
    const get = req.method === 'GET' || req.method === 'HEAD';
    const kind = get && req.url !== undefined ? HEALTH_PATHS[req.url] : undefined;
    const status = kind && health ? health.check(kind) : null;
    const body = get && req.url === '/' ? 'ok\n' : status ? (status.ok ? 'ok\n' : `${status.reason}\n`) : '';
    res.writeHead(body === '' ? 404 : status && !status.ok ? 503 : 200, {
      'Content-Type': 'text/plain',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(req.method === 'HEAD' || body === '' ? undefined : body);
  });
  const bind = (h: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => reject(e);
      server.once('error', onError);
      server.listen({ port, host: h, ipv6Only: false }, () => {
        server.off('error', onError);
        resolve();
      });
    });
  const all = host === '' || host === '0.0.0.0' || host === '::';
  try {
    await bind(all ? '::' : host).catch((e: NodeJS.ErrnoException) => {
      // No IPv6 in this kernel or namespace: every IPv4 address is what "all" can mean.
      if (all && (e.code === 'EAFNOSUPPORT' || e.code === 'EADDRNOTAVAIL')) return bind('0.0.0.0');
      throw e;
    });
  } catch (e) {
    throw new Error(`cannot listen on ${host}:${port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const address = server.address() as AddressInfo;
  return {
    port: address.port,
    dualStack: address.address === '::',
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
