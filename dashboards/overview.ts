// Overview: is the cluster's network fine, and if not, which agents, nodes and networks are not.

import { type DashboardSpec, linkTo } from './grafana.js';

export const OVERVIEW_UID = 'netchecker-overview';
export const NODE_UID = 'netchecker-node';
export const NETWORK_UID = 'netchecker-network';

/** Agent series once per agent, however many exporter replicas serve them. */
export const once = (series: string): string => `max without (instance, pod) (${series})`;
/**
 * A table's rows: one per agent and state, with exactly these columns, whatever target labels
 * the scrape adds (namespace, service, endpoint, container, job, instance, pod).
 */
export const agentRows = (series: string): string => `max by (agent, node, network, state) (${series}) == 1`;
/** Only the cells a table shows: the time and the constant 1 go. */
export const TABLE_COLUMNS = { id: 'organize', options: { excludeByName: { Time: true, Value: true } } } as const;
/** Report intervals missed in a fixed window, so the title can say which. */
export const MISSED_WINDOW = '5m';

export const overview: DashboardSpec = {
  uid: OVERVIEW_UID,
  title: 'netchecker / Overview',
  description: 'Whether every node reaches the cluster over the pod and host networks, from the netchecker exporter.',
  variables: [
    { name: 'network', label: 'Network', query: 'label_values(netchecker_agents_expected{job=~"$job"}, network)', includeAll: true },
  ],
  panels: [
    {
      kind: 'stat',
      title: 'Connectivity check',
      description: 'Agents absent or outdated: /api/v1/connectivity_check answers 400 (FAIL) when this is above 0.',
      targets: [{ expr: `sum(${once('netchecker_agents{job=~"$job", state=~"absent|outdated"}')})` }],
      mappings: [{ type: 'value', options: { '0': { text: 'PASS', color: 'green' } } }],
      thresholds: [
        [null, 'green'],
        [1, 'red'],
      ],
      width: 6,
      height: 5,
    },
    {
      kind: 'stat',
      title: 'Agents ok / expected',
      description: 'Agents reporting on time, and agents expected to report, in the chosen networks.',
      targets: [
        { expr: `sum(${once('netchecker_agents{job=~"$job", network=~"$network", state="ok"}')})`, legend: 'ok' },
        { expr: `sum(${once('netchecker_agents_expected{job=~"$job", network=~"$network"}')})`, legend: 'expected' },
      ],
      width: 6,
      height: 5,
    },
    {
      kind: 'stat',
      title: 'Exporters up',
      description: 'Exporter replicas Prometheus scrapes successfully.',
      targets: [{ expr: 'sum(up{job=~"$job"})' }],
      thresholds: [
        [null, 'red'],
        [1, 'green'],
      ],
      width: 6,
      height: 5,
    },
    {
      kind: 'stat',
      title: 'Agents failing DNS',
      description: 'Agents whose DNS probes fail right now.',
      targets: [{ expr: `count(${once('netchecker_agent_dns_up{job=~"$job", network=~"$network"}')} == 0) or vector(0)` }],
      thresholds: [
        [null, 'green'],
        [1, 'red'],
      ],
      width: 6,
      height: 5,
    },
    {
      kind: 'timeseries',
      title: 'Agents by state',
      description:
        'Agents in each network and state. Only absent and outdated are network problems; starting, terminating and node states are churn.',
      targets: [
        {
          expr: `sum by (network, state) (${once('netchecker_agents{job=~"$job", network=~"$network"}')})`,
          legend: '{{network}} {{state}}',
        },
      ],
      width: 12,
    },
    {
      kind: 'table',
      title: 'Agents',
      description: 'Every agent with its current state; click a row to open its node.',
      targets: [{ expr: agentRows('netchecker_agent_state{job=~"$job", network=~"$network"}'), instant: true }],
      links: [linkTo(NODE_UID, 'Node detail', '&var-node=${__data.fields.node}')],
      transformations: [TABLE_COLUMNS],
      width: 12,
    },
    {
      kind: 'timeseries',
      title: 'Reports per second',
      description: 'Reports the exporter accepted and rejected (by reason).',
      targets: [
        { expr: 'sum(rate(netchecker_reports_accepted_total{job=~"$job"}[$__rate_interval]))', legend: 'accepted' },
        { expr: 'sum by (reason) (rate(netchecker_reports_rejected_total{job=~"$job"}[$__rate_interval]))', legend: 'rejected {{reason}}' },
      ],
      unit: 'reqps',
      width: 8,
    },
    {
      kind: 'timeseries',
      title: `Missed report intervals, last ${MISSED_WINDOW}`,
      description: `Report intervals agents missed in the ${MISSED_WINDOW} before each point, per network.`,
      targets: [
        {
          expr: `sum by (network) (increase(netchecker_agent_missed_reports_total{job=~"$job", network=~"$network"}[${MISSED_WINDOW}]))`,
          legend: '{{network}}',
        },
      ],
      unit: 'short',
      width: 8,
    },
    {
      kind: 'timeseries',
      title: 'Agents reached by few of their probers',
      description: 'Per agent, the share of its probers that cannot reach it (1 = cut off). Open the network matrix for who reaches whom.',
      targets: [
        {
          expr: `sum without (status) (${once('netchecker_agent_probed_by{job=~"$job", network=~"$network", status="unreachable"}')}) / sum without (status) (${once('netchecker_agent_probed_by{job=~"$job", network=~"$network"}')})`,
          legend: '{{node}} {{network}}',
        },
      ],
      unit: 'percentunit',
      links: [linkTo(NETWORK_UID, 'Network matrix')],
      width: 8,
    },
    {
      kind: 'timeseries',
      title: 'Agents that cannot reach the API server',
      description:
        'Agents whose HTTPS GET of the API server fails through both its Service address and its DNS name, per network. Open a node for which way fails and how.',
      targets: [
        {
          expr: `count by (network) (max without (instance, pod, via, check) (netchecker_agent_api_server_up{job=~"$job", network=~"$network", check="https"}) == 0) or on () vector(0)`,
          legend: '{{network}}',
        },
      ],
      unit: 'short',
      width: 8,
    },
    {
      kind: 'timeseries',
      title: 'Agents failing each DNS replica',
      description:
        'Per cluster DNS replica (an endpoint of the DNS Service, named by its pod and node), the agents whose direct query to it fails. NetcheckerDnsReplicaFailing fires when most agents fail one replica while another passes. Replicas serve both networks: the network variable does not apply.',
      targets: [
        {
          expr: once('netchecker_dns_replica_agents{job=~"$job", status="failing"}'),
          legend: '{{replica_pod}} on {{replica_node}} ({{replica}})',
        },
      ],
      unit: 'short',
      width: 8,
    },
    {
      kind: 'timeseries',
      title: 'DNS replica latency',
      description: "Per cluster DNS replica, the median answer time of the agents' direct queries to it that were answered.",
      targets: [
        {
          expr: once('netchecker_dns_replica_latency_seconds{job=~"$job"}'),
          legend: '{{replica_pod}} on {{replica_node}} ({{replica}})',
        },
      ],
      unit: 's',
      width: 8,
    },
    {
      kind: 'table',
      title: 'Paths that must be blocked but are open',
      description:
        "Targets listed in the agents' --must-be-blocked that answered a TCP connect: a NetworkPolicy or firewall that does not hold, seen from the agents' namespace (or node, host network).",
      targets: [
        {
          expr: 'max by (agent, node, network, target) (netchecker_agent_blocked_path_open{job=~"$job", network=~"$network"}) == 1',
          instant: true,
        },
      ],
      transformations: [TABLE_COLUMNS],
      width: 24,
    },
  ],
};
