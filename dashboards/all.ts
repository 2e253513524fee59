// The dashboards, keyed by the file name they are published under.

import { type DashboardSpec, dashboard } from './grafana.js';
import { network } from './network.js';
import { node } from './node.js';
import { overview } from './overview.js';

export const DASHBOARDS: ReadonlyArray<{ file: string; spec: DashboardSpec }> = [
  { file: 'netchecker-overview.json', spec: overview },
  { file: 'netchecker-node.json', spec: node },
  { file: 'netchecker-network.json', spec: network },
];

export function renderDashboard(spec: DashboardSpec): string {
  return `${JSON.stringify(dashboard(spec), null, 2)}\n`;
}
