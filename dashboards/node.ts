// Node detail: everything netchecker knows about the agents of one node, both networks.

import { type DashboardSpec, type PanelSpec, linkTo } from './grafana.js';
import { MISSED_WINDOW, NETWORK_UID, NODE_UID, OVERVIEW_UID, TABLE_COLUMNS, agentRows, once } from './overview.js';

const on = (metric: string, extra = ''): string => once(`${metric}{job=~"$job", node="$node"${extra}}`);

function series(title: string, description: string, expr: string, unit: string, legend = '{{network}}'): PanelSpec {
  return { kind: 'timeseries', title, description, targets: [{ expr, legend }], unit, width: 8 };
}

export const node: DashboardSpec = {
  uid: NODE_UID,
  title: 'netchecker / Node detail',
  description:
    "The pod-network and host-network agents of one node: presence, exporter probe, DNS, API server, peers, MTU and the agent's own health.",
  variables: [{ name: 'node', label: 'Node', query: 'label_values(netchecker_agent_state{job=~"$job"}, node)' }],
  panels: [
    {
      kind: 'stat',
      title: 'Agents up',
      description: 'Per network, 1 while the agent reports on time.',
      targets: [{ expr: on('netchecker_agent_up'), legend: '{{network}}' }],
      thresholds: [
        [null, 'red'],
        [1, 'green'],
      ],
      links: [linkTo(OVERVIEW_UID, 'Overview')],
      width: 8,
      height: 5,
    },
    {
      kind: 'table',
      title: 'Agent state',
      description: 'Current state of each agent on the node (starting, ok, absent, outdated, or why it is not expected to report).',
      targets: [{ expr: agentRows('netchecker_agent_state{job=~"$job", node="$node"}'), instant: true }],
      transformations: [TABLE_COLUMNS],
      width: 16,
      height: 5,
    },
    series(
      'Seconds since last report',
      'Age of the last accepted report; outdated above 2 x the interval.',
      `time() - ${on('netchecker_agent_last_report_timestamp_seconds')}`,
      's',
    ),
    series('Report interval', 'Interval the agent declared.', on('netchecker_agent_report_interval_seconds'), 's'),
    series(
      `Missed report intervals, last ${MISSED_WINDOW}`,
      `Intervals the agent missed in the ${MISSED_WINDOW} before each point.`,
      `sum by (network) (increase(netchecker_agent_missed_reports_total{job=~"$job", node="$node"}[${MISSED_WINDOW}]))`,
      'short',
    ),
    series(
      'Clock offset',
      'Agent clock minus exporter clock at receipt, transit included.',
      on('netchecker_agent_clock_offset_seconds'),
      's',
    ),
    series(
      'Exporter probe phases',
      'Duration of each phase of the probe to the exporter.',
      on('netchecker_agent_exporter_probe_duration_seconds'),
      's',
      '{{network}} {{phase}}',
    ),
    series('Exporter probe success', '1 while the probe to the exporter succeeds.', on('netchecker_agent_exporter_probe_success'), 'short'),
    // A dual-stack agent's DNS series carry family (one line per family); single-stack ones none (the legend's end is empty).
    series(
      'DNS up',
      "1 while the agent's DNS probes succeed (per IP family, for a dual-stack agent).",
      on('netchecker_agent_dns_up'),
      'short',
      '{{network}} {{family}}',
    ),
    series(
      'DNS queries per second by result',
      'DNS queries per second by result class (ok, nxdomain, servfail, refused, timeout, other).',
      `sum by (network, result, family) (rate(netchecker_agent_dns_queries_total{job=~"$job", node="$node"}[$__rate_interval]))`,
      'reqps',
      '{{network}} {{result}} {{family}}',
    ),
    series('DNS latency', "Latency of the agent's DNS lookups.", on('netchecker_agent_dns_latency_seconds'), 's', '{{network}} {{family}}'),
    series(
      'API server reachable',
      "1 while the agent's anonymous HTTPS GET of the API server answers, through its Service address (service) and its DNS name (dns).",
      on('netchecker_agent_api_server_up', ', check="https"'),
      'short',
      '{{network}} {{via}}',
    ),
    series(
      'API server latency',
      "TCP handshake (tcp) and whole HTTPS GET (https) of the agent's checks of the API server.",
      on('netchecker_agent_api_server_duration_seconds'),
      's',
      '{{network}} {{via}} {{check}}',
    ),
    series(
      'Peers reached',
      "Assigned peers this node's agents reach or not, by peer network.",
      on('netchecker_agent_peers'),
      'short',
      '{{network}} -> {{peer_network}} {{status}}',
    ),
    series(
      'Probed by',
      "Other agents that reach (or fail to reach) this node's agents.",
      on('netchecker_agent_probed_by'),
      'short',
      '{{network}} {{status}}',
    ),
    {
      kind: 'timeseries',
      title: 'Failing peer pairs',
      description: 'Pairs with this node on either side that fail right now; the network matrix names them.',
      targets: [
        { expr: `count(${once('netchecker_agent_peer_unreachable{job=~"$job", node="$node"}')}) or vector(0)`, legend: 'from this node' },
        {
          expr: `count(${once('netchecker_agent_peer_unreachable{job=~"$job", peer_node="$node"}')}) or vector(0)`,
          legend: 'to this node',
        },
      ],
      unit: 'short',
      links: [linkTo(NETWORK_UID, 'Network matrix')],
      width: 8,
    },
    series(
      'Packet loss',
      'Probe loss to peers, by peer network.',
      on('netchecker_agent_peer_loss_ratio'),
      'percentunit',
      '{{network}} -> {{peer_network}}',
    ),
    series(
      'Path MTU',
      "Largest don't-fragment packet that passes, to the exporter and to peers.",
      on('netchecker_agent_path_mtu_bytes'),
      'bytes',
      '{{network}} {{target}}',
    ),
    series('ICMP available', '1 where the agent may send ICMP echo.', on('netchecker_agent_icmp_available'), 'short'),
    series(
      'Event-loop lag',
      'Agent event-loop lag: high values make its latencies untrustworthy.',
      on('netchecker_agent_event_loop_lag_seconds'),
      's',
    ),
    series(
      'CPU throttled',
      "Share of the agent's CPU periods throttled by its limit.",
      on('netchecker_agent_cpu_throttled_ratio'),
      'percentunit',
    ),
    series(
      'Starved',
      '1 while the agent is starved and its measurements are marked untrustworthy.',
      on('netchecker_agent_starved'),
      'short',
    ),
  ],
};
