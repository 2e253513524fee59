// The one table from Node error codes, HTTP statuses and DNS rcodes to probe result classes. Pure.

import type { ResultClass } from '../../report/schema.js';

/** First match wins; codes are Node's `err.code` (libuv, getaddrinfo, OpenSSL, AbortSignal). */
const ERROR_CODES: ReadonlyArray<readonly [RegExp, ResultClass]> = [
  [/^ECONNREFUSED$/, 'refused'],
  [/^(ECONNRESET|EPIPE)$/, 'reset'],
  [/^(ETIMEDOUT|ABORT_ERR)$/, 'timeout'],
  [/^ENOTFOUND$/, 'dns_nxdomain'],
  [/^EAI_AGAIN$/, 'dns_error'],
  [/^(EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|ENETDOWN)$/, 'unreachable'],
  // OpenSSL verification codes (CERT_HAS_EXPIRED, DEPTH_ZERO_SELF_SIGNED_CERT, ...) and Node's TLS codes.
  [/^(ERR_TLS_|ERR_SSL_|EPROTO$)|CERT|_SIGNATURE$|_ISSUER/, 'tls_error'],
];

export function classifyError(err: unknown): ResultClass {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  if (typeof code !== 'string') return 'error';
  for (const [pattern, result] of ERROR_CODES) if (pattern.test(code)) return result;
  return 'error';
}

/** 2xx and 3xx (redirects are not followed) count as reachable; anything else is an HTTP error. */
export function classifyStatus(status: number): ResultClass {
  return status >= 200 && status < 400 ? 'ok' : 'http_error';
}

/** DNS rcode (RFC 1035 / 6895 numbers) -> result class; rcodes not listed are `dns_error`. */
const DNS_RCODES: ReadonlyMap<number, ResultClass> = new Map([
  [0, 'ok'], // NOERROR, with or without answers (NODATA still means the server works)
  [2, 'dns_servfail'],
  [3, 'dns_nxdomain'],
  [5, 'dns_refused'],
]);

export function classifyRcode(rcode: number): ResultClass {
  return DNS_RCODES.get(rcode) ?? 'dns_error';
}
