// The Kubernetes review calls, through @kubernetes/client-node: TokenReview (who is this token?)
// and SubjectAccessReview (may this user get /metrics?). Each call has its own deadline (the
// library has none) and its failures are told apart: the API refusing us (403: our RBAC is
// missing) from the API being unavailable (timeout, connection, 5xx).

import {
  AuthenticationV1Api,
  AuthorizationV1Api,
  type ConfigurationOptions,
  type KubeConfig,
  Observable,
  type ObservableMiddleware,
  type V1TokenReviewStatus,
  type V1UserInfo,
} from '@kubernetes/client-node';

export type ApiFailure = { ok: false; failure: 'forbidden' | 'unavailable'; detail: string };
export type ApiAnswer<T> = { ok: true; value: T } | ApiFailure;

export class ReviewClient {
  readonly #authn: AuthenticationV1Api;
  readonly #authz: AuthorizationV1Api;
  readonly #timeoutMs: number;

  constructor(kc: KubeConfig, timeoutMs: number) {
    this.#authn = kc.makeApiClient(AuthenticationV1Api);
    this.#authz = kc.makeApiClient(AuthorizationV1Api);
    this.#timeoutMs = timeoutMs;
  }

  /** `audiences` empty: the API server's own audiences (what kube-rbac-proxy does for /metrics). */
  async tokenReview(token: string, audiences: readonly string[]): Promise<ApiAnswer<V1TokenReviewStatus>> {
    const body = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, ...(audiences.length ? { audiences: [...audiences] } : {}) },
    };
    return this.#call('TokenReview', async (options) => (await this.#authn.createTokenReview({ body }, options)).status ?? {});
  }

  /** Whether `user` may `verb` the non-resource URL `path`. */
  async subjectAccessReview(user: V1UserInfo, path: string, verb: string): Promise<ApiAnswer<boolean>> {
    const spec = { user: user.username, groups: user.groups, uid: user.uid, extra: user.extra, nonResourceAttributes: { path, verb } };
    const body = { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec };
    return this.#call(
      'SubjectAccessReview',
      async (options) => (await this.#authz.createSubjectAccessReview({ body }, options)).status?.allowed === true,
    );
  }

  async #call<T>(what: string, run: (options: ConfigurationOptions<ObservableMiddleware>) => Promise<T>): Promise<ApiAnswer<T>> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    // The object API takes the library's own (observable) middleware; it runs after credentials
    // and the TLS agent are set, and only adds the deadline.
    const deadline: ObservableMiddleware = {
      pre: (ctx) => {
        ctx.setSignal(signal);
        return new Observable(Promise.resolve(ctx));
      },
      post: (res) => new Observable(Promise.resolve(res)),
    };
    const options: ConfigurationOptions<ObservableMiddleware> = { middleware: [deadline], middlewareMergeStrategy: 'append' };
    try {
      return { ok: true, value: await run(options) };
    } catch (e) {
      return describe(what, e, signal.aborted, this.#timeoutMs);
    }
  }
}

function describe(what: string, e: unknown, timedOut: boolean, timeoutMs: number): ApiFailure {
  if (timedOut) return { ok: false, failure: 'unavailable', detail: `${what}: no answer within ${timeoutMs} ms` };
  const err = e as { code?: unknown; message?: unknown } | null;
  if (typeof err?.code === 'number') {
    if (err.code === 403)
      return {
        ok: false,
        failure: 'forbidden',
        detail: `${what}: 403 Forbidden (the exporter's service account needs create on ${what.toLowerCase()}s)`,
      };
    return { ok: false, failure: 'unavailable', detail: `${what}: HTTP ${err.code}` };
  }
  const cause =
    typeof err?.code === 'string'
      ? err.code
      : typeof err?.message === 'string'
        ? err.message.split('\n')[0]?.slice(0, 120)
        : 'unknown error';
  return { ok: false, failure: 'unavailable', detail: `${what}: ${cause}` };
}
