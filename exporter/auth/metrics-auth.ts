// --metrics-auth kubernetes: /metrics answers only a bearer token that passes a TokenReview (the
// API server's own audiences, as Prometheus's service account token carries) and whose user may
// `get` the non-resource URL /metrics (a SubjectAccessReview), as kube-rbac-proxy does. Both
// answers are cached together per token hash for at most 5 minutes, so an RBAC change applies
// within that; new tokens are reviewed at the --auth-review-rate.

import type { Logger } from '../../lib/log.js';
import { sendError } from '../api/errors.js';
import type { Clock } from '../../lib/clock.js';
import type { Handler } from '../server.js';
import { refusalHeaders } from './auth.js';
import { parseBearer } from './bearer.js';
import type { AuthConfig } from './config.js';
import { TokenReviewer, type Outcome } from './reviewer.js';

const DECISION_TTL_MS = 5 * 60 * 1000;
export const METRICS_PATH = '/metrics';

/** Wraps the /metrics handler so that it runs only for an allowed token. */
export async function protectMetrics(
  handler: Handler,
  deps: { config: AuthConfig; kubeconfig: string | undefined; clock: Clock; log: Logger },
): Promise<Handler> {
  const { loadKubeConfig } = await import('../discovery/kubernetes.js');
  const { ReviewClient } = await import('./tokenreview.js');
  const client = new ReviewClient(loadKubeConfig(deps.kubeconfig), deps.config.reviewTimeoutMs);
  const reviewer = new TokenReviewer<true, 'metrics_forbidden'>({
    client,
    audiences: [],
    interpret: async (status) => {
      if (status.authenticated !== true || !status.user) return { ok: false, code: 'auth_invalid', detail: '' };
      const allowed = await client.subjectAccessReview(status.user, METRICS_PATH, 'get');
      if (!allowed.ok) return allowed;
      return allowed.value ? { ok: true, value: true } : { ok: false, code: 'metrics_forbidden', detail: '' };
    },
    ratePerSecond: deps.config.reviewRatePerSecond,
    burst: deps.config.reviewBurst,
    cacheSize: deps.config.cacheSize,
    maxTtlMs: DECISION_TTL_MS,
    clock: deps.clock,
    log: deps.log.child({ auth: 'metrics' }),
  });
  return async (req, res, param) => {
    const bearer = parseBearer(req.headers.authorization);
    let outcome: Outcome<true, 'metrics_forbidden'> = bearer.ok ? { ok: true, value: true } : { ok: false, code: bearer.code, detail: '' };
    if (bearer.ok) {
      const checked = reviewer.check(bearer.token);
      outcome = checked instanceof Promise ? await checked : checked;
    }
    if (!outcome.ok) return sendError(res, outcome.code, undefined, refusalHeaders(outcome.code));
    return handler(req, res, param);
  };
}
