// Pure: the Authorization header -> the bearer token, and a JWT's expiry read without verifying
// its signature (the TokenReview is the verification; exp only bounds how long a review is cached).

/** Larger tokens are refused unread: a projected service account token is about 1 KiB. */
export const MAX_TOKEN_CHARS = 16_384;

/** RFC 6750 b64token. */
export const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

export type Bearer = { ok: true; token: string } | { ok: false; code: 'auth_missing' | 'auth_malformed' };

export function parseBearer(header: string | undefined): Bearer {
  if (header === undefined || header === '') return { ok: false, code: 'auth_missing' };
  // The scheme is case-insensitive (RFC 7235); exactly one space before the token.
  if (header.length > MAX_TOKEN_CHARS + 7 || header.slice(0, 7).toLowerCase() !== 'bearer ') return { ok: false, code: 'auth_malformed' };
  const token = header.slice(7);
  return TOKEN68.test(token) ? { ok: true, token } : { ok: false, code: 'auth_malformed' };
}

/**
 * Authorization fields among a request's raw headers (name, value, name, value...). Node keeps
 * only the first of several; a proxy in front may have read another, so more than one is refused.
 */
export function authorizationCount(rawHeaders: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < rawHeaders.length; i += 2)
    if ((rawHeaders[i] as string).length === 13 && (rawHeaders[i] as string).toLowerCase() === 'authorization') n++;
  return n;
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;

/**
 * The claims this exporter reads from a JWT: its expiry in epoch ms (null when it has none).
 * Null when the token is not a JWT (three base64url segments with a JSON object payload), which
 * a Kubernetes service account token always is.
 */
export function jwtExpiry(token: string): { expMs: number | null } | null {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => SEGMENT.test(p))) return null;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null;
  const exp = (payload as Record<string, unknown>).exp;
  return { expMs: typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : null };
}
