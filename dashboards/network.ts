// Network matrix: who reaches whom, by network (pod -> pod, pod -> host, host -> pod, host -> host),
// and which node reaches the exporter over which network.

import { type DashboardSpec, linkTo } from './grafana.js';
import { NETWORK_UID, NODE_UID, OVERVIEW_UID, once } from './overview.js';

const peers = (status: string): string => once(`netchecker_agent_peers{job=~"$job"${status}}`);
const matrix = (rowField: string, columnField: string) => ({
  id: 'groupingToMatrix',
  options: { rowField, columnField, valueField: 'Value' },
});

export const network: DashboardSpec = {
  uid: NETWORK_UID,
  title: 'netchecker / Network matrix',
  description: 'Reachability between the pod and host networks, and of the exporter from every node over each network.',
  variables: [],
  panels: [
    {
      kind: 'table',
      title: 'Exporter reached, node x network',
      description: "1 where the node's agent in that network reports on time.",
      targets: [{ expr: `max by (node, network) (${once('netchecker_agent_up{job=~"$job"}')})`, instant: true }],
      transformations: [matrix('node', 'network')],
      links: [linkTo(NODE_UID, 'Node detail')],
      thresholds: [
        [null, 'red'],
        [1, 'green'],
      ],
      width: 8,
    },
    {
      kind: 'table',
      title: 'Unreachable share, network x peer network',
      description: 'Share of peer probes that fail, from agents of one network (rows) to peers of another (columns).',
      targets: [
        {
          expr: `sum by (network, peer_network) (${peers(', status="unreachable"')}) / sum by (network, peer_network) (${peers('')})`,
          instant: true,
        },
      ],
      transformations: [matrix('network', 'peer_network')],
      unit: 'percentunit',
      thresholds: [
        [null, 'green'],
        [0.05, 'orange'],
        [0.2, 'red'],
      ],
      width: 8,
    },
    {
      kind: 'timeseries',
      title: 'Failing peer pairs by network pair',
      description: 'Agent pairs that fail right now, by network pair.',
      targets: [
        {
          expr: `count by (network, peer_network) (${once('netchecker_agent_peer_unreachable{job=~"$job"}')}) or on () vector(0)`,
          legend: '{{network}} -> {{peer_network}}',
        },
      ],
      unit: 'short',
      width: 8,
    },
    {
      kind: 'timeseries',
      title: 'Unreachable share over time',
      description: 'The matrix above over time.',
      targets: [
        {
          expr: `sum by (network, peer_network) (${peers(', status="unreachable"')}) / sum by (network, peer_network) (${peers('')})`,
          legend: '{{network}} -> {{peer_network}}',
        },
      ],
      unit: 'percentunit',
      width: 12,
    },
    {
      kind: 'timeseries',
      title: 'Round trip by network pair',
      description: 'Median and 99th percentile round trip between networks.',
      targets: [
        {
          expr: 'histogram_quantile(0.5, sum by (network, peer_network, le) (rate(netchecker_peer_rtt_seconds_bucket{job=~"$job"}[$__rate_interval])))',
          legend: 'p50 {{network}} -> {{peer_network}}',
        },
        {
          expr: 'histogram_quantile(0.99, sum by (network, peer_network, le) (rate(netchecker_peer_rtt_seconds_bucket{job=~"$job"}[$__rate_interval])))',
          legend: 'p99 {{network}} -> {{peer_network}}',
        },
      ],
      unit: 's',
      width: 12,
    },
    {
      kind: 'timeseries',
      title: 'Packet loss by network pair',
      description: "Worst agent's probe loss per network pair.",
      targets: [
        {
          expr: `max by (network, peer_network) (${once('netchecker_agent_peer_loss_ratio{job=~"$job"}')})`,
          legend: '{{network}} -> {{peer_network}}',
        },
      ],
      unit: 'percentunit',
      links: [linkTo(OVERVIEW_UID, 'Overview')],
      width: 12,
    },
    {
      kind: 'timeseries',
      title: 'Smallest path MTU by network',
      description: 'Smallest largest-passing packet per network and target: a dip below the others is a black hole.',
      targets: [
        { expr: `min by (network, target) (${once('netchecker_agent_path_mtu_bytes{job=~"$job"}')})`, legend: '{{network}} {{target}}' },
      ],
      unit: 'bytes',
      width: 12,
    },
  ],
};
