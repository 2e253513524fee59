// One round's I/O: every probe of the table (probes/round.ts), cut at the round's deadline, then
// the node facts; report.ts turns the result into the wire report.

import os from 'node:os';
import type { WireReport } from '../report/schema.js';
import type { AgentConfig } from './config.js';
import type { ProbeRound } from './probes/round.js';
import { buildReport } from './report.js';

/** Fixed once per process: every report of this process carries the same start. */
const STARTED_MS = Math.round(performance.timeOrigin);

/** deadlineMs: monotonic ms (performance.now()) of the next slot. */
export async function collectReport(config: AgentConfig, probes: ProbeRound, deadlineMs: number): Promise<WireReport> {
  const fields = await probes.collect(deadlineMs);
  return buildReport({
    config,
    fields,
    interfaces: os.networkInterfaces(),
    nowMs: Date.now(),
    nodeUptimeSeconds: os.uptime(),
    startedMs: STARTED_MS,
  });
}
