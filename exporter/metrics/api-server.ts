// The API server families: what each agent's last check of the API server found, per way (via:
// the Service address or the DNS name) and check (the TCP connect, the HTTPS GET). At most 4 + 4
// series per agent, plus one sparse series per failing check naming its result class. Pure.

import { API_SERVER_VIAS, type ApiServerCheck, type Report } from '../../report/schema.js';
import { type Family, gaugeEach, type Sample } from './family.js';

export const API_SERVER_CHECKS = ['tcp', 'https'] as const;
type Check = (typeof API_SERVER_CHECKS)[number];

const outcome = (c: ApiServerCheck, check: Check): { result: string; ms: number | null } =>
  check === 'tcp' ? { result: c.tcpResult, ms: c.tcpMs } : { result: c.result, ms: c.latencyMs };

/** One sample per (via, check) the report has, in table order, or none. */
function perCheck(r: Report, value: (o: { result: string; ms: number | null }) => Sample | null): Sample[] {
  const out: Sample[] = [];
  for (const via of API_SERVER_VIAS) {
    const c = r.apiServer?.find((x) => x.via === via);
    if (!c) continue;
    for (const check of API_SERVER_CHECKS) {
      const s = value(outcome(c, check));
      if (s) out.push({ labels: { via, check, ...s.labels }, value: s.value });
    }
  }
  return out;
}

export const apiServerFamilies: readonly Family<{ readonly report: Report }>[] = [
  gaugeEach(
    'netchecker_agent_api_server_up',
    "Whether the agent's last check of the API server succeeded (1) or not (0), per way (via: service address or dns name) and check (tcp connect, https GET).",
    ['via', 'check'],
    (v) => perCheck(v.report, (o) => ({ value: o.result === 'ok' ? 1 : 0 })),
  ),
  gaugeEach(
    'netchecker_agent_api_server_duration_seconds',
    "Duration of the agent's last check of the API server that completed, in seconds: the TCP handshake (check tcp) and the whole HTTPS GET (check https).",
    ['via', 'check'],
    (v) => perCheck(v.report, (o) => (o.ms === null ? null : { value: o.ms / 1000 })),
  ),
  gaugeEach(
    'netchecker_agent_api_server_failure',
    "Present (1) only while the agent's check of the API server fails, with the failure's result class; removed when it passes again.",
    ['via', 'check', 'result'],
    (v) => perCheck(v.report, (o) => (o.result === 'ok' ? null : { labels: { result: o.result }, value: 1 })),
  ),
];
