// Whether the agent may ping, kept up to date: checked at start, and while unavailable checked
// again with exponential backoff (one interval, doubling, up to 10 minutes), so a transient
// failure or a `ping` installed later does not turn ICMP and path MTU off for the agent's life.
// Logs the real error once per change (ENOENT is not a permission problem), never per round.

import { performance } from 'node:perf_hooks';
import type { Logger } from '../../lib/log.js';
import { checkIcmp, type IcmpCheck } from './icmp.js';

export const ICMP_RECHECK_MAX_MS = 10 * 60_000;

/** Wait before the next check after `failures` (>= 1) failed checks in a row. Pure. */
export function icmpRecheckDelayMs(failures: number, intervalMs: number): number {
  return Math.min(ICMP_RECHECK_MAX_MS, intervalMs * 2 ** Math.max(0, failures - 1));
}

/** ping's error -> what an operator should read: the cause named, not guessed. Pure. */
export function icmpProblem(error: string): string {
  if (/ENOENT/.test(error)) return 'ping not found (ENOENT): install iputils-ping or put ping on the PATH';
  if (/EPERM|EACCES|operation not permitted|permission denied/i.test(error))
    return `ping is not permitted (${error}): needs CAP_NET_RAW or a group in net.ipv4.ping_group_range`;
  return `ping failed: ${error}`;
}

export interface IcmpAvailabilityOptions {
  readonly timeoutMs: number;
  readonly intervalMs: number;
  readonly log: Logger;
  /** Monotonic ms; for tests. */
  readonly now?: () => number;
  /** The check itself; for tests. */
  readonly check?: (timeoutMs: number) => Promise<IcmpCheck>;
}

export class IcmpAvailability {
  readonly #o: IcmpAvailabilityOptions;
  readonly #now: () => number;
  #available = false;
  /** The problem last logged (null: available, or never checked). */
  #problem: string | null = null;
  #failures = 0;
  #nextCheckMs = -Infinity;

  constructor(options: IcmpAvailabilityOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => performance.now());
  }

  get available(): boolean {
    return this.#available;
  }

  /** Checks when due (first call; then while unavailable, after the backoff); returns availability. */
  async refresh(): Promise<boolean> {
    if (this.#available || this.#now() < this.#nextCheckMs) return this.#available;
    const r = await (this.#o.check ?? checkIcmp)(this.#o.timeoutMs);
    if (r.available) {
      if (this.#problem !== null) this.#o.log.info('icmp available again', { after_checks: this.#failures + 1 });
      this.#available = true;
      this.#problem = null;
      this.#failures = 0;
      return true;
    }
    this.#failures++;
    const delayMs = icmpRecheckDelayMs(this.#failures, this.#o.intervalMs);
    this.#nextCheckMs = this.#now() + delayMs;
    const problem = icmpProblem(r.error);
    if (problem !== this.#problem) {
      this.#o.log.warn('icmp unavailable', {
        reason: problem,
        effect: 'no ICMP or path MTU probes until a check passes',
        next_check_seconds: Math.round(delayMs / 1000),
      });
      this.#problem = problem;
    }
    return false;
  }
}
