// The verdict: expected agents versus stored reports at a moment on the exporter's monotonic
// clock. Pure: a function of its inputs, so tests drive it with a table and an injected clock.

import { networkOf, type Network } from '../../report/schema.js';
import { CHURN_REASONS, type ExpectedAgent } from '../discovery/discovery.js';
import type { AgentRecord } from '../store/store.js';
import { type AgentFamilies, type FamiliesVerdict, familyVerdict } from './families.js';

/**
 * Every state an agent can be in; exactly one holds. The same strings are label values. After
 * `ok`: `starting` (grace), the network signals `absent` and `outdated`, then the reasons
 * discovery gives for an agent that is not reporting: agent faults (`not_scheduled`,
 * `pod_not_running`, `agent_not_ready`) and churn (see docs/kubernetes.md).
 */
export const STATES = ['ok', 'starting', 'absent', 'outdated', ...CHURN_REASONS] as const;
export type State = (typeof STATES)[number];

/**
 * States of expected agents that fail connectivity_check by default (they go in the compat Absent
 * and Outdated lists): every state without a fresh report, whatever its reason, except a pod being
 * deleted. The check answers from evidence; excusing churn is the alerts' job. --failing-states
 * changes it (e.g. `absent,outdated` excuses churn and agent faults, as before).
 */
export const FAILING: ReadonlySet<State> = new Set<State>(STATES.filter((s) => s !== 'ok' && s !== 'terminating'));

export interface AgentVerdict {
  readonly name: string;
  readonly node: string;
  readonly network: Network;
  readonly state: State;
  /** One sentence for a person: why this state. */
  readonly reason: string;
  /** False for an agent that reports but is not in a configured expected set: shown, never failing. */
  readonly expected: boolean;
  readonly lastReportAgeSeconds: number | null;
  readonly intervalSeconds: number | null;
  /** Intervals missed in the current silence: 1 once silent for more than 2 intervals, +1 per interval after. */
  readonly missedInGap: number;
  /** Per IP family, for a dual-stack agent only (families.ts). */
  readonly families?: AgentFamilies;
}

export interface Verdict {
  readonly agents: readonly AgentVerdict[];
  readonly absent: readonly string[];
  readonly outdated: readonly string[];
  readonly pass: boolean;
  /** Expected agents with a fresh report: the N of the compat "All N pods" message. */
  readonly okCount: number;
  /** Which IP family is broken, when some agent is dual-stack; null otherwise. Never changes `pass`. */
  readonly families: FamiliesVerdict['summary'] | null;
}

export interface VerdictInput {
  readonly expected: ReadonlyMap<string, ExpectedAgent> | null;
  readonly records: Iterable<AgentRecord>;
  readonly nowMonoMs: number;
  readonly startedMonoMs: number;
  /** How long after exporter start (or after discovery's `sinceMonoMs`) a silent expected agent is `starting`. */
  readonly startupGraceMs: number;
  /** States of expected agents that fail the check; FAILING when not given. */
  readonly failing?: ReadonlySet<State>;
}

export function computeVerdict(input: VerdictInput): Verdict {
  const agents: AgentVerdict[] = [];
  const seen = new Set<string>();
  /** Records that may be dual-stack (families.ts decides): none in a single-stack cluster. */
  const perFamily = new Map<string, AgentRecord>();
  for (const record of input.records) {
    seen.add(record.name);
    if (record.report.listenByFamily) perFamily.set(record.name, record);
    const known = input.expected?.get(record.name);
    agents.push(reported(record, known, input.expected === null || known !== undefined, input));
  }
  if (input.expected) {
    for (const agent of input.expected.values()) {
      if (!seen.has(agent.name)) agents.push(neverReported(agent, input));
    }
  }
  const failing = input.failing ?? FAILING;
  agents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const absent: string[] = [];
  const outdated: string[] = [];
  let okCount = 0;
  for (const a of agents) {
    if (!a.expected) continue;
    if (a.state === 'ok') okCount++;
    if (!failing.has(a.state)) continue;
    // The compat lists: never reported -> Absent, reported before -> Outdated, whatever the reason.
    if (a.lastReportAgeSeconds === null) absent.push(a.name);
    else outdated.push(a.name);
  }
  const pass = absent.length === 0 && outdated.length === 0;
  const families =
    perFamily.size === 0
      ? null
      : familyVerdict(
          agents.map((a) => ({ ...a, judged: a.expected && (a.state === 'ok' || failing.has(a.state)) })),
          perFamily,
        );
  if (!families) return { agents, absent, outdated, pass, okCount, families: null };
  const withFamilies = agents.map((a) => {
    const f = families.agents.get(a.name);
    return f ? { ...a, families: f } : a;
  });
  return { agents: withFamilies, absent, outdated, pass, okCount, families: families.summary };
}

function reported(record: AgentRecord, known: ExpectedAgent | undefined, expected: boolean, input: VerdictInput): AgentVerdict {
  const { report } = record;
  const age = Math.max(0, input.nowMonoMs - record.receivedMonoMs) / 1000;
  const interval = report.intervalSeconds;
  const late = age > 2 * interval; // strict, as the original
  // A fresh report wins over churn: an agent that reports is ok, even on a cordoned node. A late
  // agent that an expected set no longer lists (its pod deleted in a rollout or a drain) is gone,
  // not cut off: it is churn until the report TTL prunes it, never network evidence. Node churn
  // that began after the agent's last report does not excuse it: the silence came first, as
  // when a node is cut off and then goes NotReady because it is cut off.
  const churnSince = known?.churn?.sinceMonoMs;
  const silentFirst = late && churnSince !== undefined && churnSince > record.receivedMonoMs;
  const excused = !late || silentFirst ? null : known ? excuse(known, input, false) : input.expected !== null ? GONE : null;
  return {
    name: record.name,
    node: known?.node ?? report.nodeName,
    network: known?.network ?? networkOf(record.name, report.network),
    state: excused?.state ?? (late ? 'outdated' : 'ok'),
    reason: excused
      ? `${excused.reason}; last report ${age.toFixed(1)} s ago`
      : late
        ? `last report ${age.toFixed(1)} s ago, more than 2 x its ${interval} s interval${silentFirst ? `; silent before this began: ${known?.churn?.detail}` : ''}`
        : `reported ${age.toFixed(1)} s ago`,
    expected,
    lastReportAgeSeconds: age,
    intervalSeconds: interval,
    missedInGap: late ? Math.ceil(age / interval) - 2 : 0,
  };
}

const GONE = { state: 'terminating', reason: 'no longer expected (its pod is gone); pruned after the report TTL' } as const satisfies {
  state: State;
  reason: string;
};

function neverReported(agent: ExpectedAgent, input: VerdictInput): AgentVerdict {
  const excused = excuse(agent, input, true);
  return {
    name: agent.name,
    node: agent.node ?? '',
    network: agent.network ?? networkOf(agent.name, null),
    state: excused?.state ?? 'absent',
    reason: excused?.reason ?? 'expected but has not reported',
    expected: true,
    lastReportAgeSeconds: null,
    intervalSeconds: null,
    missedInGap: 0,
  };
}

/**
 * Why a silent expected agent is not (yet) a network signal: churn discovery saw, else the
 * `starting` grace (after the exporter started, for agents that never reported; after the pod
 * started running or its node became Ready). Null: it is absent or outdated.
 */
function excuse(agent: ExpectedAgent, input: VerdictInput, neverReported: boolean): { state: State; reason: string } | null {
  if (agent.churn) return { state: agent.churn.reason, reason: agent.churn.detail };
  const { nowMonoMs, startupGraceMs } = input;
  if (neverReported && nowMonoMs - input.startedMonoMs < startupGraceMs) {
    return { state: 'starting', reason: 'exporter started recently; waiting for the first report' };
  }
  if (agent.sinceMonoMs !== undefined && nowMonoMs - agent.sinceMonoMs < startupGraceMs) {
    const since = Math.max(0, nowMonoMs - agent.sinceMonoMs) / 1000;
    return { state: 'starting', reason: `pod running (and node Ready) for ${since.toFixed(1)} s; waiting for a report` };
  }
  return null;
}
