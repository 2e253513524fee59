// The original server's ncagent_* series (compat.md), kept so existing dashboards and alerts
// work. Labelled by the original's agent key, `<nodename>-host_network` or
// `<nodename>-private_network`; pods that share a key (a rollout) are summed, probes come from
// the latest report among them.

import type { Network, Probe } from '../../report/schema.js';
import { counter, type Family, gaugeEach, type Sample } from './family.js';

export interface LegacyView {
  readonly reports: number;
  readonly errors: number;
  readonly probes: readonly Probe[];
}

export function legacyKey(node: string, network: Network): string {
  return `${node}-${network === 'host' ? 'host_network' : 'private_network'}`;
}

/** One gauge per original probe field, a sample per probed URL (unknown values are left out). */
function probeGauge(name: string, help: string, field: (p: Probe) => number | null): Family<LegacyView> {
  return gaugeEach(name, help, ['url'], (v) => {
    const out: Sample[] = [];
    for (const p of v.probes) {
      const value = field(p);
      if (value !== null) out.push({ labels: { url: p.url }, value });
    }
    return out;
  });
}

export const legacyFamilies: readonly Family<LegacyView>[] = [
  counter('ncagent_report_count_total', 'Legacy: reports received from the agent.', (v) => v.reports),
  counter(
    'ncagent_error_count_total',
    'Legacy: report intervals the agent missed (first counted after 2 silent intervals).',
    (v) => v.errors,
  ),
  probeGauge('ncagent_http_probe_connection_result', 'Legacy: 1 if the TCP connection to the URL was made.', (p) => p.connectionResult),
  probeGauge('ncagent_http_probe_code', 'Legacy: HTTP status code of the probe, 0 for no response.', (p) => p.httpCode),
  probeGauge('ncagent_http_probe_total_time_ms', 'Legacy: total probe time in milliseconds.', (p) => p.totalMs),
  probeGauge('ncagent_http_probe_content_transfer_time_ms', 'Legacy: content transfer time in milliseconds.', (p) => p.contentTransferMs),
  probeGauge('ncagent_http_probe_tcp_connection_time_ms', 'Legacy: TCP connection time in milliseconds.', (p) => p.tcpConnectionMs),
  probeGauge('ncagent_http_probe_dns_lookup_time_ms', 'Legacy: DNS lookup time in milliseconds.', (p) => p.dnsLookupMs),
  probeGauge('ncagent_http_probe_connect_time_ms', 'Legacy: connect time in milliseconds.', (p) => p.connectMs),
  probeGauge(
    'ncagent_http_probe_server_processing_time_ms',
    'Legacy: server processing time in milliseconds.',
    (p) => p.serverProcessingMs,
  ),
];

/** Probes with one entry per URL (the last wins), so no series is written twice. */
export function uniqueProbes(probes: readonly Probe[] | null): Probe[] {
  return [...new Map((probes ?? []).map((p) => [p.url, p])).values()];
}
