// Checks bearer tokens with the Kubernetes API at most once per token: the outcome is cached by
// the token's SHA-256 until the token expires (its JWT exp, read unverified: the review is the
// verification), concurrent requests with one new token share one review, and new tokens are
// reviewed at a bounded rate (a token bucket); beyond it they get 429 without any API call.
// A cached hit is synchronous: one hash and one Map lookup, no promise.
// Expiry is the API server's call, not this machine's wall clock: a step of that clock must not
// refuse every token. The exp claim only sets how long an accepted review is kept, turned into a
// lifetime on the monotonic clock when the review is made.

import type { V1TokenReviewStatus } from '@kubernetes/client-node';
import type { Logger } from '../../lib/log.js';
import type { ErrorCode, RejectReason } from '../errors.js';
import type { Clock } from '../../lib/clock.js';
import { jwtExpiry } from './bearer.js';
import { ExpiringCache, tokenKey } from './cache.js';
import { TokenBucket } from './rate.js';
import type { ApiFailure, ReviewClient } from './tokenreview.js';

/** `C`: the codes a refusal may carry beyond the report reasons (e.g. metrics_forbidden). */
export type Outcome<T, C extends ErrorCode = RejectReason> = { ok: true; value: T } | { ok: false; code: C | RejectReason; detail: string };

/** A refusal of the token itself is cached this long at most (a token can become valid: its pod starts). */
const NEGATIVE_TTL_MS = 10_000;
/** Refusals kept: apart from the accepted tokens, so a flood of bad tokens cannot evict good ones. */
const NEGATIVE_MAX = 1000;
/**
 * Shortest time an accepted review is kept, even when this machine's clock says the token has
 * expired (a clock stepped forward): re-reviewing on every report would hit the review rate.
 */
const MIN_TTL_MS = 60_000;

export interface ReviewerOptions<T, C extends ErrorCode> {
  readonly client: ReviewClient;
  /** Audiences asked for in the TokenReview; empty: the API server's own. */
  readonly audiences: readonly string[];
  /** The review's status -> the caller, or why not (may make a further API call, e.g. a SubjectAccessReview). */
  readonly interpret: (status: V1TokenReviewStatus) => Outcome<T, C> | Promise<Outcome<T, C> | ApiFailure>;
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly cacheSize: number;
  /** Accepted tokens are re-reviewed after this long at the latest, even when they expire later. */
  readonly maxTtlMs: number;
  readonly clock: Clock;
  readonly log: Logger;
}

export class TokenReviewer<T, C extends ErrorCode = RejectReason> {
  readonly #o: ReviewerOptions<T, C>;
  readonly #accepted: ExpiringCache<T>;
  readonly #refused = new ExpiringCache<Outcome<T, C>>(NEGATIVE_MAX);
  readonly #inflight = new Map<string, Promise<Outcome<T, C>>>();
  readonly #bucket: TokenBucket;
  /** The last API failure, logged once when it starts and once when it ends. */
  #failing: string | null = null;

  constructor(options: ReviewerOptions<T, C>) {
    this.#o = options;
    this.#accepted = new ExpiringCache(options.cacheSize);
    this.#bucket = new TokenBucket(options.ratePerSecond, options.burst, options.clock.monoMs());
  }

  check(token: string): Outcome<T, C> | Promise<Outcome<T, C>> {
    const key = tokenKey(token);
    const nowMs = this.#o.clock.monoMs();
    const value = this.#accepted.get(key, nowMs);
    if (value !== undefined) return { ok: true, value };
    const known = this.#refused.get(key, nowMs) ?? this.#inflight.get(key);
    if (known !== undefined) return known;
    const jwt = jwtExpiry(token);
    if (jwt === null) return { ok: false, code: 'auth_malformed', detail: 'The token is not a JWT.' };
    if (!this.#bucket.take(nowMs)) return { ok: false, code: 'auth_rate_limited', detail: '' };
    const review = this.#review(key, token, jwt.expMs).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, review);
    return review;
  }

  async #review(key: string, token: string, expMs: number | null): Promise<Outcome<T, C>> {
    const answer = await this.#o.client.tokenReview(token, this.#o.audiences);
    const outcome = answer.ok ? await this.#o.interpret(answer.value) : answer;
    if ('failure' in outcome) return this.#apiFailed(outcome);
    this.#apiWorks();
    const clock = this.#o.clock;
    const leftMs = expMs === null ? Infinity : expMs - clock.wallMs();
    if (outcome.ok) this.#accepted.set(key, outcome.value, clock.monoMs() + Math.min(Math.max(leftMs, MIN_TTL_MS), this.#o.maxTtlMs));
    else this.#refused.set(key, outcome, clock.monoMs() + NEGATIVE_TTL_MS);
    return outcome;
  }

  #apiFailed(f: ApiFailure): Outcome<T, C> {
    if (this.#failing !== f.detail) {
      this.#o.log[f.failure === 'forbidden' ? 'error' : 'warn']('token review failed; new tokens get 503 until it works', {
        error: f.detail,
      });
      this.#failing = f.detail;
    }
    return { ok: false, code: f.failure === 'forbidden' ? 'auth_review_forbidden' : 'auth_unavailable', detail: '' };
  }

  #apiWorks(): void {
    if (this.#failing === null) return;
    this.#o.log.info('token review works again', { was: this.#failing });
    this.#failing = null;
  }
}
