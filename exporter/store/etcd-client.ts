// How the etcd3 client is set up: hosts, a deadline on every unary call, a quick watch reconnect,
// and TLS that verifies the server against --etcd-ca (or the system CAs) with an optional client
// certificate. The PEM files are read and checked here, so a bad file stops the exporter at start.

import { readFile } from 'node:fs/promises';
import { createSecureContext, rootCertificates } from 'node:tls';
import type { IOptions } from 'etcd3';
import { FlagError, fileError } from '../../lib/flags.js';
import { withDeadline } from './deadline.js';
import type { EtcdConfig } from './etcd-config.js';
import { receiveLimitBytes, sendLimitBytes } from './etcd-limits.js';

/** Client options: hosts, per-call deadline, TLS that verifies the server against --etcd-ca. */
export async function clientOptions(cfg: EtcdConfig): Promise<IOptions> {
  const read = async (flag: string, path: string | undefined): Promise<Buffer | undefined> => {
    if (path === undefined) return undefined;
    try {
      return await readFile(path);
    } catch (e) {
      throw fileError(`--${flag}`, path, e);
    }
  };
  const [ca, cert, key] = [await read('etcd-ca', cfg.caFile), await read('etcd-cert', cfg.certFile), await read('etcd-key', cfg.keyFile)];
  try {
    createSecureContext({ ca, cert, key }); // bad PEM or a key that does not match: say so at start
  } catch (e) {
    throw new FlagError(`--etcd-ca/--etcd-cert/--etcd-key: ${(e as Error).message}`);
  }
  const deadline = cfg.timeoutMs;
  return {
    hosts: [...cfg.endpoints],
    dialTimeout: deadline,
    // Without --etcd-ca, https:// endpoints are verified against the system CAs.
    ...(ca || cert
      ? { credentials: { rootCertificate: ca ?? Buffer.from(rootCertificates.join('\n')), privateKey: key, certChain: cert } }
      : {}),
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + deadline }),
    grpcOptions: {
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      // gRPC's 4 MiB default would refuse an unpaged read past ~1,900 records; pages fit this.
      'grpc.max_receive_message_length': receiveLimitBytes(cfg.maxRequestBytes),
      'grpc.max_send_message_length': sendLimitBytes(cfg.maxRequestBytes),
    },
    faultHandling: { watchBackoff: constantBackoff(500) },
  };
}

/** Reconnect the watch every half second while etcd is away (the default backs off to 30 s). */
function constantBackoff(ms: number): { duration: number; next(): ReturnType<typeof constantBackoff> } {
  const b = { duration: ms, next: () => b };
  return b;
}

/** etcd3 has no deadline of its own over its retries: every call gets --etcd-timeout. */
export function withTimeout<T>(call: Promise<T>, ms: number): Promise<T> {
  return withDeadline(call, ms, () => new Error(`etcd did not answer within ${ms} ms`));
}
