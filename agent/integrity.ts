// Measurement integrity: is the agent itself healthy enough for its latencies to mean anything?
// Event-loop lag from a ticking timer (how late it fires) and CPU throttling from the cgroup's
// cpu.stat (v2, or v1's cpu controller), both per round. A starved round is flagged, so the
// exporter reads its latencies as the agent's trouble, not the network's.

import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { WireIntegrity } from '../report/schema.js';

/** Above either limit a round's latencies are untrustworthy. */
export const STARVED = { lagMs: 250, throttledRatio: 0.25 } as const;
const TICK_MS = 50;
const CPU_STAT_PATHS = ['/sys/fs/cgroup/cpu.stat', '/sys/fs/cgroup/cpu/cpu.stat', '/sys/fs/cgroup/cpu,cpuacct/cpu.stat'];

export interface CpuStat {
  readonly periods: number;
  readonly throttled: number;
}

/** nr_periods and nr_throttled of a cpu.stat text (same keys in cgroup v1 and v2); null without them. Pure. */
export function parseCpuStat(text: string): CpuStat | null {
  const periods = /^nr_periods (\d+)$/m.exec(text);
  const throttled = /^nr_throttled (\d+)$/m.exec(text);
  return periods && throttled ? { periods: Number(periods[1]), throttled: Number(throttled[1]) } : null;
}

/** Throttled share of the periods between two readings; null when unknown or no quota periods ran. Pure. */
export function throttledRatio(before: CpuStat | null, after: CpuStat | null): number | null {
  if (!before || !after) return null;
  const periods = after.periods - before.periods;
  if (periods <= 0) return null;
  return Math.min(1, Math.max(0, (after.throttled - before.throttled) / periods));
}

export function integrityOf(lagMs: number, ratio: number | null): WireIntegrity {
  return {
    event_loop_lag_ms: Math.round(lagMs * 1000) / 1000,
    cpu_throttled_ratio: ratio,
    starved: lagMs >= STARVED.lagMs || (ratio ?? 0) >= STARVED.throttledRatio,
  };
}

async function readCpuStat(): Promise<CpuStat | null> {
  for (const path of CPU_STAT_PATHS) {
    const stat = await readFile(path, 'utf8').then(parseCpuStat, () => null);
    if (stat) return stat;
  }
  return null;
}

/** Runs for the agent's life; take() returns the round's integrity and starts the next round. */
export class IntegrityMonitor {
  #maxLagMs = 0;
  #last = performance.now();
  #cpu: CpuStat | null = null;
  readonly #timer: NodeJS.Timeout;

  private constructor() {
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.#maxLagMs = Math.max(this.#maxLagMs, now - this.#last - TICK_MS);
      this.#last = now;
    }, TICK_MS);
    this.#timer.unref();
  }

  static async start(): Promise<IntegrityMonitor> {
    const m = new IntegrityMonitor();
    m.#cpu = await readCpuStat();
    return m;
  }

  async take(): Promise<WireIntegrity> {
    const cpu = await readCpuStat();
    // The tick in flight counts too: a loop blocked right now is lag as well.
    const lag = Math.max(this.#maxLagMs, performance.now() - this.#last - TICK_MS, 0);
    const out = integrityOf(lag, throttledRatio(this.#cpu, cpu));
    this.#cpu = cpu;
    this.#maxLagMs = 0;
    return out;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
