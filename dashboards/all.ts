// The dashboards, keyed by the file name they are published under.

import { DEFAULT_DASHBOARD_SETTINGS, type DashboardSettings, type DashboardSpec, dashboard } from './grafana.js';
import { network } from './network.js';
import { node } from './node.js';
import { overview } from './overview.js';

export const DASHBOARDS: ReadonlyArray<{ file: string; spec: DashboardSpec }> = [
  { file: 'netchecker-overview.json', spec: overview },
  { file: 'netchecker-node.json', spec: node },
  { file: 'netchecker-network.json', spec: network },
];

export function renderDashboard(spec: DashboardSpec, s: DashboardSettings = DEFAULT_DASHBOARD_SETTINGS): string {
  return `${JSON.stringify(dashboard(spec, s), null, 2)}\n`;
}
