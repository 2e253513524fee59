// The flags of report authentication (--auth) and /metrics protection (--metrics-auth), parsed
// once into a frozen object; exporter/config.ts includes them. docs/security.md explains them.

import type { FlagSpec, FlagValues } from '../../lib/flags.js';

export const AUTH_MODES = ['none', 'token', 'kubernetes'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];
export const METRICS_AUTH_MODES = ['none', 'kubernetes'] as const;
export type MetricsAuthMode = (typeof METRICS_AUTH_MODES)[number];

/** The audience agent tokens are projected with (deploy/base/agent*.yaml). */
export const DEFAULT_AUDIENCE = 'netchecker';

export const authFlags: readonly FlagSpec[] = [
  { name: 'auth', kind: 'string', default: 'none', help: `Who may POST reports: ${AUTH_MODES.join(', ')} (kubernetes: a projected service account token, checked with a TokenReview and bound to the agent's pod; token: the shared secret of --auth-token-file; none: anyone, as the original server).` },
  { name: 'auth-token-file', kind: 'string', metavar: 'PATH', help: 'File holding the shared secret for --auth token (re-read when it changes).' },
  { name: 'auth-audience', kind: 'string', default: DEFAULT_AUDIENCE, help: 'Audience an agent token must be issued for (--auth kubernetes).' },
  { name: 'auth-review-rate', kind: 'number', metavar: 'PER_SECOND', default: 200, help: 'TokenReviews per second for tokens not in the cache; beyond it (and --auth-review-burst) reports get 429 without calling the API.' },
  { name: 'auth-review-burst', kind: 'number', metavar: 'N', default: 500, help: 'TokenReviews allowed at once before --auth-review-rate applies.' },
  { name: 'auth-review-timeout', kind: 'number', metavar: 'SECONDS', default: 3, help: 'Deadline of one TokenReview or SubjectAccessReview; past it the report gets 503.' },
  { name: 'auth-cache-size', kind: 'number', metavar: 'TOKENS', default: 50_000, help: 'Reviewed tokens kept (by SHA-256, never the token) until they expire; the oldest go first when full.' },
  { name: 'metrics-auth', kind: 'string', default: 'none', help: `Protect /metrics: ${METRICS_AUTH_MODES.join(', ')} (kubernetes: a bearer token that passes a TokenReview and a SubjectAccessReview for get on /metrics, as kube-rbac-proxy).` },
];

export interface AuthConfig {
  readonly mode: AuthMode;
  /** Set with --auth token. */
  readonly tokenFile: string | undefined;
  readonly audience: string;
  readonly reviewRatePerSecond: number;
  readonly reviewBurst: number;
  readonly reviewTimeoutMs: number;
  readonly cacheSize: number;
  readonly metrics: MetricsAuthMode;
}

export function parseAuthConfig(v: FlagValues, discovery: string): { ok: true; value: AuthConfig } | { ok: false; error: string } {
  const err = (error: string): { ok: false; error: string } => ({ ok: false, error });
  const mode = String(v.auth);
  if (!(AUTH_MODES as readonly string[]).includes(mode)) return err(`--auth must be one of ${AUTH_MODES.join(', ')}`);
  const metrics = String(v['metrics-auth']);
  if (!(METRICS_AUTH_MODES as readonly string[]).includes(metrics)) return err(`--metrics-auth must be one of ${METRICS_AUTH_MODES.join(', ')}`);
  const tokenFile = typeof v['auth-token-file'] === 'string' && v['auth-token-file'] !== '' ? v['auth-token-file'] : undefined;
  if (mode === 'token' && tokenFile === undefined) return err('--auth token needs --auth-token-file');
  if (mode !== 'token' && tokenFile !== undefined) return err('--auth-token-file needs --auth token');
  // The binding of a token to its pod reads the pod from the discovery informer.
  if (mode === 'kubernetes' && discovery !== 'kubernetes') return err('--auth kubernetes needs --discovery kubernetes (tokens are bound to the agent pods it watches)');
  const audience = String(v['auth-audience']);
  if (!/^[\x21-\x7e]{1,253}$/.test(audience)) return err('--auth-audience must be 1 to 253 printable characters without spaces');
  const num = (name: string, min: number, max: number, integer: boolean): number | string => {
    const n = v[name] as number;
    return n >= min && n <= max && (!integer || Number.isInteger(n)) ? n : `--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`;
  };
  const values = [
    num('auth-review-rate', 0.1, 100_000, false),
    num('auth-review-burst', 1, 100_000, true),
    num('auth-review-timeout', 0.1, 60, false),
    num('auth-cache-size', 1, 10_000_000, true),
  ];
  const bad = values.find((x) => typeof x === 'string');
  if (bad !== undefined) return err(bad as string);
  const [rate, burst, timeout, cacheSize] = values as number[];
  return {
    ok: true,
    value: Object.freeze({
      mode: mode as AuthMode,
      tokenFile,
      audience,
      reviewRatePerSecond: rate as number,
      reviewBurst: burst as number,
      reviewTimeoutMs: Math.round((timeout as number) * 1000),
      cacheSize: cacheSize as number,
      metrics: metrics as MetricsAuthMode,
    }),
  };
}
