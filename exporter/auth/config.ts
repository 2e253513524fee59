// The flags of report authentication (--auth) and /metrics protection (--metrics-auth), parsed
// once into a frozen object; exporter/config.ts includes them. docs/security.md explains them.

import { FlagError, type FlagSpec, type FlagValues } from '../../lib/flags.js';

export const AUTH_MODES = ['none', 'token', 'kubernetes'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];
export const METRICS_AUTH_MODES = ['none', 'kubernetes'] as const;
export type MetricsAuthMode = (typeof METRICS_AUTH_MODES)[number];

/** The audience agent tokens are projected with (deploy/base/agent*.yaml). */
export const DEFAULT_AUDIENCE = 'netchecker';

export const authFlags = [
  {
    name: 'auth',
    kind: 'string',
    choices: AUTH_MODES,
    default: 'none',
    help: "Who may POST reports (kubernetes: a projected service account token, checked with a TokenReview and bound to the agent's pod; token: the shared secret of --auth-token-file; none: anyone, as the original server).",
  },
  {
    name: 'auth-token-file',
    kind: 'string',
    file: true,
    metavar: 'PATH',
    help: 'File holding the shared secret for --auth token (re-read when it changes).',
  },
  {
    name: 'auth-audience',
    kind: 'string',
    default: DEFAULT_AUDIENCE,
    help: 'Audience an agent token must be issued for (--auth kubernetes).',
  },
  {
    name: 'auth-review-rate',
    kind: 'number',
    min: 0.1,
    max: 100_000,
    unit: 'per second',
    default: 200,
    help: 'TokenReviews per second for tokens not in the cache; beyond it (and --auth-review-burst) reports get 429 without calling the API.',
  },
  {
    name: 'auth-review-burst',
    kind: 'number',
    integer: true,
    min: 1,
    max: 100_000,
    metavar: 'N',
    default: 500,
    help: 'TokenReviews allowed at once before --auth-review-rate applies.',
  },
  {
    name: 'auth-review-timeout',
    kind: 'number',
    min: 0.1,
    max: 60,
    unit: 'seconds',
    default: 3,
    help: 'Deadline of one TokenReview or SubjectAccessReview; past it the report gets 503.',
  },
  {
    name: 'auth-cache-size',
    kind: 'number',
    integer: true,
    min: 1,
    max: 10_000_000,
    metavar: 'TOKENS',
    default: 50_000,
    help: 'Reviewed tokens kept (by SHA-256, never the token) until they expire; the oldest go first when full.',
  },
  {
    name: 'metrics-auth',
    kind: 'string',
    choices: METRICS_AUTH_MODES,
    default: 'none',
    help: 'Protect /metrics (kubernetes: a bearer token that passes a TokenReview and a SubjectAccessReview for get on /metrics, as kube-rbac-proxy).',
  },
] as const satisfies readonly FlagSpec[];

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

/** The auth part of the config; the table checked each value, this what one flag says of another. */
export function parseAuthConfig(v: FlagValues<typeof authFlags>, discovery: string): AuthConfig {
  const tokenFile = v['auth-token-file'] || undefined;
  if (v.auth === 'token' && tokenFile === undefined) throw new FlagError('--auth token needs --auth-token-file');
  if (v.auth !== 'token' && tokenFile !== undefined) throw new FlagError('--auth-token-file needs --auth token');
  // The binding of a token to its pod reads the pod from the discovery informer.
  if (v.auth === 'kubernetes' && discovery !== 'kubernetes') {
    throw new FlagError('--auth kubernetes needs --discovery kubernetes (tokens are bound to the agent pods it watches)');
  }
  const audience = v['auth-audience'];
  if (!/^[\x21-\x7e]{1,253}$/.test(audience)) throw new FlagError('--auth-audience must be 1 to 253 printable characters without spaces');
  return Object.freeze({
    mode: v.auth,
    tokenFile,
    audience,
    reviewRatePerSecond: v['auth-review-rate'],
    reviewBurst: v['auth-review-burst'],
    reviewTimeoutMs: Math.round(v['auth-review-timeout'] * 1000),
    cacheSize: v['auth-cache-size'],
    metrics: v['metrics-auth'],
  });
}
