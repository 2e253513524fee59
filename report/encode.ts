// Encodes a decoded Report back to the wire, beside the one decoder (decode.ts): the original's
// stored-record shape (what /api/v1/agents/ answers; report fields but zero_extender, plus
// last_updated) and our agent's additions in their wire form. What it writes decodes to the same
// Report (test/fuzz-decode.test.ts, test/etcd-cache.test.ts). Pure: no I/O.

import type { PeerResult, Report, WireReport, WirePeer } from './schema.js';

/** The stored record in the original's shape: report fields except zero_extender, plus last_updated. */
export function recordJson(report: Report, receivedWallMs: number): Record<string, unknown> {
  return {
    report_interval: report.intervalSeconds,
    nodename: report.nodeName,
    podname: report.podName,
    hostdate: report.hostDate,
    ...(report.uptimeSeconds === null ? {} : { uptime: report.uptimeSeconds }),
    nslookup: report.nslookup,
    ips: report.ips,
    network_probes: probesJson(report),
    ...(report.network === null ? {} : { network: report.network }),
    ...(report.agentVersion === null ? {} : { agent_version: report.agentVersion }),
    ...(report.agentStartedMs === null ? {} : { agent_started: new Date(report.agentStartedMs).toISOString() }),
    last_updated: new Date(receivedWallMs).toISOString(),
  };
}

function probesJson(report: Report): unknown[] | null {
  return (
    report.probes?.map((p) => ({
      URL: p.url,
      ConnectionResult: p.connectionResult,
      HTTPCode: p.httpCode,
      Total: p.totalMs,
      ContentTransfer: p.contentTransferMs,
      TCPConnection: p.tcpConnectionMs,
      DNSLookup: p.dnsLookupMs,
      Connect: p.connectMs,
      ServerProcessing: p.serverProcessingMs,
      ...(p.result === null ? {} : { Result: p.result }),
      ...(p.phasesMs === null ? {} : { PhasesMs: p.phasesMs }),
    })) ?? null
  );
}

/** Our keys of the report (none from the original agent): what our probes fill, beside the record. */
export type Additions = Partial<
  Pick<
    WireReport,
    | 'listen'
    | 'listen_by_family'
    | 'exporter_by_family'
    | 'dns'
    | 'peers'
    | 'icmp_available'
    | 'path_mtu'
    | 'integrity'
    | 'api_server'
    | 'must_be_blocked'
    | 'dns_replicas'
  >
>;

/** What the API's record leaves out and peers, probe metrics and verdicts on other replicas need. */
export function wireAdditions(r: Report): Additions {
  const out: Additions = {};
  if (r.listen != null) out.listen = r.listen;
  if (r.listenByFamily != null) out.listen_by_family = { ...r.listenByFamily };
  if (r.exporterByFamily != null)
    out.exporter_by_family = Object.fromEntries(
      Object.entries(r.exporterByFamily).map(([f, p]) => [f, { result: p.result, latency_ms: p.latencyMs }]),
    );
  if (r.dns != null)
    out.dns = r.dns.map((q) => ({
      server: q.server,
      name: q.name,
      result: q.result,
      latency_ms: q.latencyMs,
      ...(q.family == null ? {} : { family: q.family }),
    }));
  if (r.peers != null) out.peers = r.peers.map(wirePeer);
  if (r.icmpAvailable != null) out.icmp_available = r.icmpAvailable;
  if (r.pathMtu != null) out.path_mtu = { exporter: r.pathMtu.exporterBytes, peers: r.pathMtu.peersBytes };
  if (r.integrity != null)
    out.integrity = {
      event_loop_lag_ms: r.integrity.eventLoopLagMs,
      cpu_throttled_ratio: r.integrity.cpuThrottledRatio,
      starved: r.integrity.starved,
    };
  if (r.apiServer != null) {
    out.api_server = r.apiServer.map((c) => ({
      via: c.via,
      target: c.target,
      tcp_result: c.tcpResult,
      tcp_ms: c.tcpMs,
      result: c.result,
      http_code: c.httpCode,
      latency_ms: c.latencyMs,
    }));
  }
  if (r.mustBeBlocked != null) out.must_be_blocked = r.mustBeBlocked.map((c) => ({ target: c.target, result: c.result }));
  if (r.dnsReplicas != null)
    out.dns_replicas = r.dnsReplicas.map((q) => ({ address: q.address, result: q.result, latency_ms: q.latencyMs }));
  return out;
}

/** A peer result in the wire's form: what the agent sends and the store keeps. */
export function wirePeer(p: PeerResult): WirePeer {
  const wire: WirePeer = { name: p.name, node: p.node, network: p.network, result: p.result, sent: p.sent, lost: p.lost, rtt_ms: p.rttMs };
  if (p.family != null) wire.family = p.family;
  return wire;
}
