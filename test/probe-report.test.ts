// Our probes travel in the report: what the agent builds, the exporter's decoder reads back exactly.
import t from 'tap';
import type { RoundFields } from '../agent/probes/probe.js';
import { buildReport, networkProbes } from '../agent/report.js';
import { decodeReport } from '../report/decode.js';
import { wireAdditions } from '../report/encode.js';

t.test('the extra probe fields round-trip through the wire', async (t) => {
  const extras: RoundFields = {
    listen: '198.18.0.11:8090',
    dns: [{ server: '198.18.0.2', name: 'kubernetes.default.svc.cluster.local', result: 'nxdomain', latency_ms: 1.25 }],
    peers: [{ name: 'agent-pod-n2', node: 'node-2', network: 'pod', result: 'timeout', sent: 3, lost: 3, rtt_ms: null }],
    icmp_available: true,
    path_mtu: { exporter: 1500, peers: 1400 },
    integrity: { event_loop_lag_ms: 12.5, cpu_throttled_ratio: null, starved: false },
    api_server: [
      {
        via: 'dns',
        target: 'kubernetes.default.svc.cluster.local:443',
        tcp_result: 'ok',
        tcp_ms: 0.5,
        result: 'tls_error',
        http_code: 0,
        latency_ms: null,
      },
    ],
  };
  const ping = {
    url: 'http://198.18.0.2:8081/api/v1/ping',
    result: 'ok' as const,
    httpCode: 200,
    phasesMs: { connect: 0.3, first_byte: 0.5, transfer: 0.1, total: 0.9 },
  };
  const wire = buildReport({
    config: { intervalSeconds: 2, nodeName: 'node-1', name: 'agent-hostnet-n1', network: 'host', zeroExtenderLength: 0 },
    fields: { nslookup: {}, network_probes: networkProbes([], ping), ...extras },
    interfaces: {},
    nowMs: Date.parse('2026-11-26T09:00:00Z'),
    nodeUptimeSeconds: 100,
    startedMs: Date.parse('2026-11-26T08:59:30.5Z'),
  });
  const decoded = decodeReport(JSON.stringify(wire));
  if (!decoded.ok) throw new Error(decoded.detail);
  t.match(decoded.value, {
    listen: '198.18.0.11:8090',
    dns: [{ server: '198.18.0.2', name: 'kubernetes.default.svc.cluster.local', result: 'nxdomain', latencyMs: 1.25 }],
    peers: [{ name: 'agent-pod-n2', node: 'node-2', network: 'pod', result: 'timeout', sent: 3, lost: 3, rttMs: null }],
    icmpAvailable: true,
    pathMtu: { exporterBytes: 1500, peersBytes: 1400 },
    integrity: { eventLoopLagMs: 12.5, cpuThrottledRatio: null, starved: false },
    apiServer: [
      {
        via: 'dns',
        target: 'kubernetes.default.svc.cluster.local:443',
        tcpResult: 'ok',
        tcpMs: 0.5,
        result: 'tls_error',
        httpCode: 0,
        latencyMs: null,
      },
    ],
  });
  const original = decodeReport('{"report_interval":15}');
  t.match(
    original.ok && original.value,
    { listen: null, dns: null, peers: null, icmpAvailable: null, pathMtu: null, integrity: null, apiServer: null, mustBeBlocked: null },
    'the original agent sends none of them',
  );
});

t.test('a dual-stack agent: its listener per family, each peer result and DNS query family round-trip', async (t) => {
  const body = {
    report_interval: 15,
    listen: '198.18.0.11:8090',
    listen_by_family: { ipv4: '198.18.0.11:8090', ipv6: '[fd00:18::11]:8090' },
    exporter_by_family: { ipv4: { result: 'ok', latency_ms: 0.9 }, ipv6: { result: 'timeout', latency_ms: null } },
    peers: [
      { name: 'agent-pod-n2', node: 'node-2', network: 'pod', result: 'ok', sent: 3, lost: 0, rtt_ms: 0.4, family: 'ipv4' },
      { name: 'agent-pod-n2', node: 'node-2', network: 'pod', result: 'timeout', sent: 3, lost: 3, rtt_ms: null, family: 'ipv6' },
      { name: 'agent-pod-n3', node: 'node-3', network: 'pod', result: 'ok', sent: 3, lost: 0, rtt_ms: 0.5 },
    ],
    dns: [
      { server: '10.96.0.10', name: 'netchecker-service.netchecker.svc.cluster.local', result: 'ok', latency_ms: 0.7, family: 'ipv4' },
      {
        server: '10.96.0.10',
        name: 'netchecker-service.netchecker.svc.cluster.local',
        result: 'timeout',
        latency_ms: null,
        family: 'ipv6',
      },
      { server: '10.96.0.10', name: 'kubernetes.default.svc.cluster.local', result: 'ok', latency_ms: 0.5 },
    ],
  };
  const decoded = decodeReport(JSON.stringify(body));
  if (!decoded.ok) throw new Error(decoded.detail);
  t.same(decoded.value.listenByFamily, body.listen_by_family);
  t.same(decoded.value.exporterByFamily, { ipv4: { result: 'ok', latencyMs: 0.9 }, ipv6: { result: 'timeout', latencyMs: null } });
  t.same(
    decoded.value.peers?.map((p) => p.family ?? null),
    ['ipv4', 'ipv6', null],
  );
  t.same(
    decoded.value.dns?.map((q) => q.family ?? null),
    ['ipv4', 'ipv6', null],
    'each DNS query its family (an A query of an agent that sends none: none)',
  );
  const again = decodeReport(JSON.stringify({ report_interval: 15, ...wireAdditions(decoded.value) }));
  t.same(again.ok && again.value, decoded.value, 'encoded back (the store, other replicas): the same report');
  for (const [field, value] of [
    ['listen_by_family', { ipv4: '[fd00::1]:8090' }],
    ['listen_by_family', { ipv4: 'node-1:8090' }],
    ['listen_by_family', {}],
    ['listen_by_family', '198.18.0.11:8090'],
    ['peers', [{ ...body.peers[0], family: 'ipv5' }]],
    ['dns', [{ ...body.dns[0], family: 'AAAA' }]],
    ['exporter_by_family', { ipv5: { result: 'ok', latency_ms: 1 } }],
    ['exporter_by_family', { ipv4: { result: 'OK!', latency_ms: 1 } }],
    ['exporter_by_family', { ipv4: 'ok' }],
  ] as const) {
    const bad = decodeReport(JSON.stringify({ ...body, [field]: value }));
    t.match(bad, { ok: false, code: 'invalid_field' }, `${field}: ${JSON.stringify(value)}`);
  }
});
