// The verdict: expected agents versus stored reports at a moment on the exporter's monotonic
// clock. Pure: a function of its inputs, so tests drive it with a table and an injected clock.

import { networkOf, type Network } from '../../report/schema.js';
import type { ExpectedAgent } from '../discovery/discovery.js';
import type { AgentRecord } from '../store/store.js';

/** Every state an agent can be in; exactly one holds. The same strings are label values. */
export const STATES = ['ok', 'starting', 'absent', 'outdated'] as const;
export type State = (typeof STATES)[number];

/** States that fail connectivity_check (the compat Absent and Outdated lists). */
export const FAILING: ReadonlySet<State> = new Set<State>(['absent', 'outdated']);

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
}

export interface Verdict {
  readonly agents: readonly AgentVerdict[];
  readonly absent: readonly string[];
  readonly outdated: readonly string[];
  readonly pass: boolean;
  readonly okCount: number;
}

export interface VerdictInput {
  readonly expected: ReadonlyMap<string, ExpectedAgent> | null;
  readonly records: Iterable<AgentRecord>;
  readonly nowMonoMs: number;
  readonly startedMonoMs: number;
  /** How long after exporter start an expected agent that has not reported is `starting`, not `absent`. */
  readonly startupGraceMs: number;
}

export function computeVerdict(input: VerdictInput): Verdict {
  const agents: AgentVerdict[] = [];
  const seen = new Set<string>();
  for (const record of input.records) {
    seen.add(record.name);
    const known = input.expected?.get(record.name);
    agents.push(reported(record, known, input.expected === null || known !== undefined, input.nowMonoMs));
  }
  if (input.expected) {
    const starting = input.nowMonoMs - input.startedMonoMs < input.startupGraceMs;
    for (const agent of input.expected.values()) {
      if (!seen.has(agent.name)) agents.push(neverReported(agent, starting));
    }
  }
  agents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const absent: string[] = [];
  const outdated: string[] = [];
  let okCount = 0;
  for (const a of agents) {
    if (a.state === 'ok') okCount++;
    if (!a.expected) continue;
    if (a.state === 'absent') absent.push(a.name);
    else if (a.state === 'outdated') outdated.push(a.name);
  }
  return { agents, absent, outdated, pass: absent.length === 0 && outdated.length === 0, okCount };
}

function reported(record: AgentRecord, known: ExpectedAgent | undefined, expected: boolean, nowMonoMs: number): AgentVerdict {
  const { report } = record;
  const age = Math.max(0, nowMonoMs - record.receivedMonoMs) / 1000;
  const interval = report.intervalSeconds;
  const late = age > 2 * interval; // strict, as the original
  return {
    name: record.name,
    node: known?.node ?? report.nodeName,
    network: known?.network ?? networkOf(record.name, report.network),
    state: late ? 'outdated' : 'ok',
    reason: late
      ? `last report ${age.toFixed(1)} s ago, more than 2 x its ${interval} s interval`
      : `reported ${age.toFixed(1)} s ago`,
    expected,
    lastReportAgeSeconds: age,
    intervalSeconds: interval,
    missedInGap: late ? Math.ceil(age / interval) - 2 : 0,
  };
}

function neverReported(agent: ExpectedAgent, starting: boolean): AgentVerdict {
  return {
    name: agent.name,
    node: agent.node ?? '',
    network: agent.network ?? networkOf(agent.name, null),
    state: starting ? 'starting' : 'absent',
    reason: starting ? 'exporter started recently; waiting for the first report' : 'expected but has not reported',
    expected: true,
    lastReportAgeSeconds: null,
    intervalSeconds: null,
    missedInGap: 0,
  };
}
