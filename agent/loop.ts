// Fixed-rate scheduler: slot k is at start + k * interval, computed from the start and never from
// the previous round, so the period does not drift. A round that overruns skips missed slots.

import { performance } from 'node:perf_hooks';
import { sleep } from './sleep.js';

export interface Slot {
  index: number;
  /** Monotonic ms of the next slot: the round must be done by then. */
  deadlineMs: number;
}

/** The slot to run after slot `done` finished at `nowMs`: the first one not in the past. Pure. */
export function nextSlot(startMs: number, intervalMs: number, done: number, nowMs: number): number {
  return Math.max(done + 1, Math.ceil((nowMs - startMs) / intervalMs));
}

/** Runs slot 0 at once, then each following slot; on abort the round in flight finishes first. */
export async function runSchedule(
  intervalMs: number,
  signal: AbortSignal,
  round: (slot: Slot) => Promise<void>,
  now: () => number = () => performance.now(),
): Promise<void> {
  const startMs = now();
  for (let k = 0; !signal.aborted;) {
    await round({ index: k, deadlineMs: startMs + (k + 1) * intervalMs });
    k = nextSlot(startMs, intervalMs, k, now());
    await sleep(startMs + k * intervalMs - now(), signal);
  }
}
