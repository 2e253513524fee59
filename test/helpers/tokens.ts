// Service account tokens for tests of --auth kubernetes and --metrics-auth: JWT-shaped strings
// (unsigned: the fake API server's TokenReview is the verification, as the real one is) and the
// review answer the fake API server gives for each, registered on it.
//
//   const tokens = new TokenIssuer(kube);
//   const tok = tokens.agent(kube, 'netchecker-agent-a');   // bound to that pod, audience netchecker
//   const other = tokens.issue({ username: 'alice' });       // any review answer

import type { FakeKube, ReviewAnswer } from './fake-kube.js';

export interface TokenFacts {
  /** Default: the service account netchecker-agent in namespace netchecker. */
  username?: string;
  groups?: string[];
  /** status.audiences the review answers with; default: the audiences asked for. */
  audiences?: string[];
  /** The pod-name / pod-uid extras; null: not bound to a pod. */
  pod?: { name: string; uid: string } | null;
  /** The node-name extra; absent on clusters before 1.30. */
  node?: string;
  /** Seconds from now to the JWT exp claim; default 3600. */
  expiresInSeconds?: number;
  /** Default true. */
  authenticated?: boolean;
  /** A failed review instead of an answer (e.g. 403), or an answer that comes late. */
  review?: (status: Record<string, unknown>) => ReviewAnswer | Promise<ReviewAnswer>;
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

export class TokenIssuer {
  /** Each token's facts and its exp claim (seconds). */
  readonly #facts = new Map<string, TokenFacts & { exp: number }>();
  #serial = 0;

  constructor(kube: FakeKube) {
    kube.tokenReview = (spec) => this.#answer(spec);
  }

  issue(facts: TokenFacts = {}): string {
    const exp = Math.floor(Date.now() / 1000) + (facts.expiresInSeconds ?? 3600);
    const token = `${b64({ alg: 'RS256', kid: 'fake' })}.${b64({ aud: facts.audiences ?? ['netchecker'], exp, jti: `t${++this.#serial}`, sub: facts.username ?? 'system:serviceaccount:netchecker:netchecker-agent' })}.c2lnbmF0dXJl`;
    this.#facts.set(token, { ...facts, exp });
    return token;
  }

  /** A projected token of the pod as the fake API server holds it now (its uid and node). */
  agent(kube: FakeKube, podName: string, extra: TokenFacts = {}): string {
    const pod = kube.get('pods', podName, 'netchecker');
    if (!pod) throw new Error(`tokens: no pod netchecker/${podName}`);
    const node = pod.spec?.nodeName;
    return this.issue({ pod: { name: podName, uid: pod.metadata.uid as string }, ...(typeof node === 'string' ? { node } : {}), ...extra });
  }

  #answer(spec: Record<string, unknown>): ReviewAnswer | Promise<ReviewAnswer> {
    const facts = typeof spec.token === 'string' ? this.#facts.get(spec.token) : undefined;
    if (!facts || facts.authenticated === false) return { authenticated: false, error: 'invalid bearer token' };
    // As the API server does: an expired token is not authenticated (its clock, not the exporter's).
    if (facts.exp * 1000 <= Date.now()) return { authenticated: false, error: 'token has expired' };
    const extra: Record<string, string[]> = {};
    if (facts.pod) {
      extra['authentication.kubernetes.io/pod-name'] = [facts.pod.name];
      extra['authentication.kubernetes.io/pod-uid'] = [facts.pod.uid];
    }
    if (facts.node) extra['authentication.kubernetes.io/node-name'] = [facts.node];
    const status = {
      authenticated: true,
      audiences: facts.audiences ?? (Array.isArray(spec.audiences) ? spec.audiences : ['https://kubernetes.default.svc']),
      user: {
        username: facts.username ?? 'system:serviceaccount:netchecker:netchecker-agent',
        uid: `sa-uid-${facts.username ?? 'agent'}`,
        groups: facts.groups ?? ['system:serviceaccounts', 'system:serviceaccounts:netchecker', 'system:authenticated'],
        extra,
      },
    };
    return facts.review ? facts.review(status) : status;
  }
}
