// Turns the timestamps the HTTP probe records into phase durations. Pure, so it is tested by table.

import type { PhasesMs } from './probe.js';

/** Monotonic timestamps in ms (performance.now()); absent when the event never happened. */
export interface PhaseStamps {
  start: number;
  /** DNS answer; absent for IP literals, which skip the lookup. */
  lookup?: number;
  /** TCP handshake done. */
  connect?: number;
  /** TLS handshake done. */
  secureConnect?: number;
  /** Response headers arrived. */
  response?: number;
  /** Response body fully read. */
  bodyEnd?: number;
  /** The probe settled (success or failure). */
  done: number;
}

export function phaseDurations(s: PhaseStamps): PhasesMs {
  const out: PhasesMs = { total: s.done - s.start };
  if (s.lookup !== undefined) out.dns = s.lookup - s.start;
  if (s.connect !== undefined) out.connect = s.connect - (s.lookup ?? s.start);
  if (s.secureConnect !== undefined && s.connect !== undefined) out.tls = s.secureConnect - s.connect;
  if (s.response !== undefined) out.first_byte = s.response - (s.secureConnect ?? s.connect ?? s.start);
  if (s.bodyEnd !== undefined && s.response !== undefined) out.transfer = s.bodyEnd - s.response;
  return out;
}
