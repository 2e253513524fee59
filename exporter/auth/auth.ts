// Who may POST a report (--auth): the table of modes, each a ReportAuth or null (none: anyone,
// as the original server). The ingest handler calls authenticate() before reading the body
// (a refused caller costs no body read) and authorize() after decoding it.

import type { Logger } from '../../lib/log.js';
import { ERRORS, type ErrorCode } from '../errors.js';
import type { Cidr } from '../../report/address.js';
import type { Report } from '../../report/schema.js';
import type { Discovery } from '../discovery/discovery.js';
import type { Clock } from '../../lib/clock.js';
import { parseBearer } from './bearer.js';
import { checkBinding, type Denial, identityOf, podBinding, type PodIdentity } from './binding.js';
import type { AuthConfig, AuthMode } from './config.js';
import { TokenReviewer, type Outcome } from './reviewer.js';
import { SharedSecret } from './token-file.js';

/** The caller behind a request: a pod identity (kubernetes) or null (the shared secret's holder). */
export type Caller = PodIdentity | null;

export interface ReportAuth {
  authenticate(authorization: string | undefined): Outcome<Caller> | Promise<Outcome<Caller>>;
  /** Null when the caller may store this report under this name. */
  authorize(caller: Caller, name: string, report: Report): Denial | null;
  close(): void;
}

export interface AuthDeps {
  readonly config: AuthConfig;
  /** Kubeconfig path (--kubeconfig), undefined: the default lookup. */
  readonly kubeconfig: string | undefined;
  readonly discovery: Discovery;
  readonly clock: Clock;
  readonly log: Logger;
  /** --peer-cidrs: listen addresses allowed besides the pod's own IPs. */
  readonly peerCidrs?: readonly Cidr[];
}

/** The longest an accepted agent token is trusted without a new review (tokens usually expire sooner). */
const REPORT_MAX_TTL_MS = 24 * 3600 * 1000;

export const reportAuths: Record<AuthMode, (deps: AuthDeps) => Promise<ReportAuth | null>> = {
  none: async () => null,

  token: async ({ config, log }) => {
    const secret = new SharedSecret(config.tokenFile as string, log.child({ auth: 'token' }));
    return {
      authenticate(header) {
        const bearer = parseBearer(header);
        if (!bearer.ok) return { ok: false, code: bearer.code, detail: '' };
        return secret.matches(bearer.token) ? { ok: true, value: null } : { ok: false, code: 'auth_invalid', detail: '' };
      },
      authorize: () => null,
      close: () => secret.close(),
    };
  },

  kubernetes: async ({ config, kubeconfig, discovery, clock, log, peerCidrs = [] }) => {
    const { loadKubeConfig } = await import('../discovery/kubernetes.js');
    const { ReviewClient } = await import('./tokenreview.js');
    const pods = discovery.pod?.bind(discovery);
    if (!pods) throw new Error('--auth kubernetes needs --discovery kubernetes');
    const reviewer = new TokenReviewer<PodIdentity>({
      client: new ReviewClient(loadKubeConfig(kubeconfig), config.reviewTimeoutMs),
      audiences: [config.audience],
      interpret: (status) => {
        const id = identityOf(status, config.audience);
        return id.ok ? { ok: true, value: id.identity } : id;
      },
      ratePerSecond: config.reviewRatePerSecond,
      burst: config.reviewBurst,
      cacheSize: config.cacheSize,
      maxTtlMs: REPORT_MAX_TTL_MS,
      clock,
      log: log.child({ auth: 'kubernetes' }),
    });
    return {
      authenticate(header) {
        const bearer = parseBearer(header);
        return bearer.ok ? reviewer.check(bearer.token) : { ok: false, code: bearer.code, detail: '' };
      },
      authorize(caller, name, report) {
        if (caller === null) return { code: 'auth_not_bound', detail: '' }; // unreachable: kubernetes callers are pods
        const pod = pods(caller.namespace, caller.podName);
        return checkBinding(caller, name, report, pod === undefined ? undefined : podBinding(pod), peerCidrs);
      },
      close: () => {},
    };
  },
};

/** Headers a refusal carries: the challenge with a 401 (RFC 6750), when to retry with a 429 or 503. */
export function refusalHeaders(code: ErrorCode): Record<string, string> | undefined {
  const { status } = ERRORS[code];
  if (status === 401) return { 'WWW-Authenticate': 'Bearer realm="netchecker"' };
  if (status === 429 || status === 503) return { 'Retry-After': '1' };
  return undefined;
}
