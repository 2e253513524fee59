// What the monitor remembers from one verdict to the next, as pure logic with `now` passed in:
// each agent's reports and missed intervals (a miss counted once, however often the verdict is
// recomputed), its state changes, and which silent agents are gone for good.

import type { ExpectedAgent } from '../discovery/discovery.js';
import type { AgentRecord } from '../store/store.js';
import type { AgentVerdict, Verdict } from './verdict.js';

export interface AgentCounts {
  /** Reports accepted since the exporter started. */
  readonly reports: number;
  /** Report intervals missed since the exporter started. */
  readonly missed: number;
}

export interface StateChange {
  readonly before: AgentVerdict;
  readonly now: AgentVerdict;
}

interface Tracked {
  reports: number;
  missed: number;
  /** Misses already counted in the agent's current silence. */
  missedInGap: number;
  last: AgentVerdict | null;
}

export class AgentTracker {
  readonly #agents = new Map<string, Tracked>();

  /** A report of the agent was accepted: one more report, and its silence (if any) is over. */
  reported(name: string): void {
    const a = this.#of(name);
    a.reports++;
    a.missedInGap = 0;
  }

  /**
   * Takes a fresh verdict: counts the intervals missed since the last one, and returns the state
   * changes and the agents it no longer holds (their counters are forgotten).
   */
  observe(verdict: Verdict): { changes: StateChange[]; gone: string[] } {
    const changes: StateChange[] = [];
    const present = new Set<string>();
    for (const v of verdict.agents) {
      present.add(v.name);
      const a = this.#of(v.name);
      if (v.missedInGap > a.missedInGap) {
        a.missed += v.missedInGap - a.missedInGap;
        a.missedInGap = v.missedInGap;
      } else if (v.missedInGap === 0) a.missedInGap = 0; // a report arrived, maybe through another replica
      if (a.last && a.last.state !== v.state) changes.push({ before: a.last, now: v });
      a.last = v;
    }
    const gone: string[] = [];
    for (const name of this.#agents.keys()) if (!present.has(name)) gone.push(name);
    for (const name of gone) this.#agents.delete(name);
    return { changes, gone };
  }

  counts(name: string): AgentCounts {
    const a = this.#agents.get(name);
    return a ? { reports: a.reports, missed: a.missed } : { reports: 0, missed: 0 };
  }

  #of(name: string): Tracked {
    let a = this.#agents.get(name);
    if (!a) this.#agents.set(name, (a = { reports: 0, missed: 0, missedInGap: 0, last: null }));
    return a;
  }
}

/** Agents that are gone: not expected and silent for the report TTL (and at least 3 of their intervals). */
export function pruneDue(
  records: Iterable<AgentRecord>,
  expected: ReadonlyMap<string, ExpectedAgent> | null,
  nowMonoMs: number,
  reportTtlSeconds: number,
): string[] {
  const gone: string[] = [];
  for (const r of records) {
    if (expected?.has(r.name)) continue;
    if (nowMonoMs - r.receivedMonoMs > Math.max(reportTtlSeconds, 3 * r.report.intervalSeconds) * 1000) gone.push(r.name);
  }
  return gone;
}
