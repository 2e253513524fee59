// What every agent probe returns: measured data with a closed result class, never an exception.
// The result classes (report/schema.ts) are the wire's `Result` values, the exporter's label
// values and alert matchers.

import type { Phase, ResultClass } from '../../report/schema.js';

/** Durations in milliseconds (sub-ms precision); a phase is absent when it never happened. */
export type PhasesMs = Partial<Record<Exclude<Phase, 'total'>, number>> & { total: number };

export interface ProbeOutcome {
  url: string;
  result: ResultClass;
  /** 0 when no response arrived. */
  httpCode: number;
  phasesMs: PhasesMs;
  /** Human-readable detail for logs when result is not ok. */
  error?: string;
}
