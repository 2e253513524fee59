// The netchecker_ presence families: per agent a constant number of series (see docs/metrics.md),
// labelled agent, node, network. Declared as data; exposition.ts renders them when an agent changes.

import { NETWORKS, type Network } from '../../report/schema.js';
import type { AgentRecord } from '../store/store.js';
import { STATES, type AgentVerdict, type State } from '../verdict/verdict.js';
import { counter, type Family, gauge, stateset } from './family.js';

/** What the presence families read for one agent. */
export interface AgentView {
  readonly verdict: AgentVerdict;
  readonly record: AgentRecord | undefined;
  readonly reports: number;
  readonly missed: number;
}

export const agentFamilies: readonly Family<AgentView>[] = [
  gauge('netchecker_agent_up', 'Whether the agent reported within 2 x its report interval (1) or not (0).', (v) =>
    v.verdict.state === 'ok' ? 1 : 0,
  ),
  stateset(
    'netchecker_agent_state',
    'State of the agent: exactly one of the series per agent is 1.',
    'state',
    STATES,
    (v) => v.verdict.state,
  ),
  gauge(
    'netchecker_agent_last_report_timestamp_seconds',
    "Exporter's wall-clock time of the agent's last accepted report, in seconds since the epoch.",
    (v) => (v.record ? v.record.receivedWallMs / 1000 : null),
  ),
  gauge('netchecker_agent_report_interval_seconds', 'Report interval the agent declared in its last report, in seconds.', (v) =>
    v.record ? v.record.report.intervalSeconds : null,
  ),
  counter('netchecker_agent_reports_total', 'Reports accepted from the agent since the exporter started.', (v) => v.reports),
  counter(
    'netchecker_agent_missed_reports_total',
    'Report intervals the agent missed: +1 once silent for more than 2 intervals, then +1 per further interval.',
    (v) => v.missed,
  ),
  gauge(
    'netchecker_agent_start_time_seconds',
    "When the agent process started (its report's agent_started), in seconds since the epoch: a new value is a restart.",
    (v) => (v.record?.report.agentStartedMs == null ? null : v.record.report.agentStartedMs / 1000),
  ),
  gauge(
    'netchecker_agent_clock_offset_seconds',
    "Agent wall clock (the report's hostdate) minus the exporter's wall clock at receipt, in seconds; includes transit time.",
    (v) => (v.record ? clockOffsetSeconds(v.record) : null),
  ),
];

/** Agent wall clock minus the exporter's at receipt, seconds (ms precision); null without hostdate. */
export function clockOffsetSeconds(r: AgentRecord): number | null {
  return r.report.hostDateMs !== null ? Math.round(r.report.hostDateMs - r.receivedWallMs) / 1000 : null;
}

/** Counts by network and state, every combination present (zeros included) so alerts can compare. */
export interface Count {
  readonly value: number;
}

export const agentsFamily: Family<Count> = gauge('netchecker_agents', 'Number of agents in each network and state.', (c) => c.value);
export const expectedFamily: Family<Count> = gauge(
  'netchecker_agents_expected',
  'Number of agents the exporter expects to report, per network (discovery or --expect; the reporting agents when neither is set).',
  (c) => c.value,
);

export function countRows(agents: readonly AgentVerdict[]): {
  byState: Array<readonly [{ network: Network; state: State }, Count]>;
  expected: Array<readonly [{ network: Network }, Count]>;
} {
  const byState = new Map<string, number>();
  const expected = new Map<Network, number>();
  for (const a of agents) {
    byState.set(`${a.network}/${a.state}`, (byState.get(`${a.network}/${a.state}`) ?? 0) + 1);
    if (a.expected) expected.set(a.network, (expected.get(a.network) ?? 0) + 1);
  }
  return {
    byState: NETWORKS.flatMap((network) =>
      STATES.map((state) => [{ network, state }, { value: byState.get(`${network}/${state}`) ?? 0 }] as const),
    ),
    expected: NETWORKS.map((network) => [{ network }, { value: expected.get(network) ?? 0 }] as const),
  };
}
