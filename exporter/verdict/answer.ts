// The verdict as connectivity_check words it: the compat part scripts read and the per-agent
// detail. Pure; the check handler and the status page both answer from here, so they cannot
// disagree.

import type { CheckAgent, CheckWire } from '../../report/answers.js';
import type { AgentVerdict, Verdict } from './verdict.js';

export const FAIL_MESSAGE = 'Connectivity check fails. Reason: there are absent or outdated pods; look up the payload';

/** The compat part of the answer: three keys, in order, null on pass. */
export function compatAnswer(v: Verdict): Pick<CheckWire, 'Message' | 'Absent' | 'Outdated'> {
  return {
    Message: v.pass ? `All ${v.okCount} pods successfully reported back to the server` : FAIL_MESSAGE,
    Absent: v.pass ? null : v.absent,
    Outdated: v.pass ? null : v.outdated,
  };
}

/** One agent of the answer's detail; the status page's rows start from it. */
export function agentDetail(a: AgentVerdict): CheckAgent {
  return {
    name: a.name,
    node: a.node,
    network: a.network,
    state: a.state,
    reason: a.reason,
    expected: a.expected,
    last_report_age_seconds: a.lastReportAgeSeconds === null ? null : Math.round(a.lastReportAgeSeconds * 1000) / 1000,
    report_interval_seconds: a.intervalSeconds,
    ...(a.families ? { families: a.families } : {}),
  };
}

/** The whole answer's JSON text. */
export function checkBody(v: Verdict): string {
  // The family summary before the (long) agent list; only when some agent is dual-stack.
  const body: CheckWire = { ...compatAnswer(v), ...(v.families ? { families: v.families } : {}), agents: v.agents.map(agentDetail) };
  return JSON.stringify(body);
}
