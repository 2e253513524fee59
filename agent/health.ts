// The agent's own health, served as /healthz (liveness) and /readyz (readiness) on the listener:
// healthy while the report loop runs, i.e. a round started recently. Never asks the exporter or a
// peer: a partitioned agent stays Ready, so its silence counts as network evidence, not as an
// agent fault (docs/kubernetes.md).

import { performance } from 'node:perf_hooks';

export type HealthKind = 'live' | 'ready';
export type HealthStatus = { ok: true } | { ok: false; reason: string };

/**
 * How long after a round started the next one may start in a healthy loop: a round ends by the
 * next slot plus at most a timeout (the send's last attempt), and then skips to the following
 * slot, so two intervals plus a timeout; anything longer is a stuck loop. Pure.
 */
export const healthBoundMs = (intervalMs: number, timeoutMs: number): number => 2 * intervalMs + timeoutMs;

/**
 * Liveness counts from the agent's start until the first round, so a slow start is not a stuck
 * one; readiness needs the first round to have started. Pure.
 */
export function loopHealth(
  kind: HealthKind,
  t: { startedMs: number; lastRoundMs: number | null; nowMs: number; boundMs: number },
): HealthStatus {
  if (kind === 'ready' && t.lastRoundMs === null) return { ok: false, reason: 'no report round started yet' };
  const since = t.nowMs - (t.lastRoundMs ?? t.startedMs);
  if (since <= t.boundMs) return { ok: true };
  const what = t.lastRoundMs === null ? 'no report round started since the agent started' : 'no report round started';
  return { ok: false, reason: `${what} ${seconds(since)} s ago (bound ${seconds(t.boundMs)} s): the loop is stuck` };
}

const seconds = (ms: number): number => Math.round(ms / 100) / 10;

/** The loop marks each round's start; the listener asks. */
export class LoopHealth {
  readonly #boundMs: number;
  readonly #now: () => number;
  readonly #startedMs: number;
  #lastRoundMs: number | null = null;

  constructor(intervalMs: number, timeoutMs: number, now: () => number = () => performance.now()) {
    this.#boundMs = healthBoundMs(intervalMs, timeoutMs);
    this.#now = now;
    this.#startedMs = now();
  }

  roundStarted(): void {
    this.#lastRoundMs = this.#now();
  }

  check(kind: HealthKind): HealthStatus {
    return loopHealth(kind, { startedMs: this.#startedMs, lastRoundMs: this.#lastRoundMs, nowMs: this.#now(), boundMs: this.#boundMs });
  }
}
