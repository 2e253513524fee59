// What every agent probe returns: measured data with a closed result class, never an exception.
// The result strings are the wire's `Result` values, the exporter's label values and alert matchers.

import type { Phase } from '../../report/schema.js';

export const RESULT_CLASSES = [
  'ok',
  'timeout',
  'refused',
  'reset',
  'unreachable',
  'dns_nxdomain',
  'dns_error',
  'tls_error',
  'http_error',
  'error',
] as const;
export type ResultClass = (typeof RESULT_CLASSES)[number];

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
