// O(N): the probe series per agent stay constant from 10 to 1,000 agents (each with its k=10
// assigned peers, the RTT histograms per network pair shared), the number matches docs/metrics.md,
// and a failing pair's sparse series lives only while the pair fails. Dual-stack agents: a constant
// few more (the `family` label), and a partition of one family shows on that family only. Pure.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { type Exposition, expositionText } from '../exporter/metrics/exposition.js';
import { ProbeMetrics } from '../exporter/metrics/probes.js';
import { assignPeers, type PeerCandidate } from '../exporter/peers/assign.js';
import type { AgentRecord } from '../exporter/store/store.js';
import type { IpFamily, Network, Report } from '../report/schema.js';

const doc = readFileSync(fileURLToPath(new URL('../docs/metrics.md', import.meta.url)), 'utf8');

function agents(nodes: number): PeerCandidate[] {
  return Array.from({ length: nodes }, (_, i) =>
    (['pod', 'host'] as Network[]).map((network) => ({
      name: `agent-${network}-${i}`,
      node: `node-${i}`,
      network,
      address: `198.18.0.1:${8000 + i}`,
    })),
  ).flat();
}

function fullReport(a: PeerCandidate, peers: readonly PeerCandidate[], failing: ReadonlySet<string> = new Set()): Report {
  return {
    intervalSeconds: 15,
    nodeName: a.node,
    podName: a.name,
    hostDate: null,
    hostDateMs: null,
    uptimeSeconds: null,
    nslookup: null,
    ips: null,
    probes: [
      {
        url: 'https://netchecker-service:8081/api/v1/ping',
        connectionResult: 1,
        httpCode: 200,
        totalMs: 5,
        contentTransferMs: 0,
        tcpConnectionMs: 1,
        dnsLookupMs: 1,
        connectMs: 2,
        serverProcessingMs: 1,
        result: 'ok',
        phasesMs: { dns: 1, connect: 1, tls: 2, first_byte: 1, transfer: 0.1, total: 5.1 },
      },
    ],
    network: a.network,
    agentVersion: '0.1.0',
    agentStartedMs: null,
    listen: a.address,
    dns: [{ server: '198.18.0.2', name: 'kubernetes.default.svc.cluster.local', result: 'ok', latencyMs: 1.5 }],
    peers: peers.map((p) => ({
      name: p.name,
      node: p.node,
      network: p.network,
      result: failing.has(p.name) ? 'timeout' : 'ok',
      sent: 3,
      lost: failing.has(p.name) ? 3 : 0,
      rttMs: failing.has(p.name) ? null : 0.4,
    })),
    icmpAvailable: true,
    pathMtu: { exporterBytes: 1500, peersBytes: 1450 },
    integrity: { eventLoopLagMs: 2, cpuThrottledRatio: 0.01, starved: false },
    apiServer: (['service', 'dns'] as const).map((via) => ({
      via,
      target: '10.96.0.1:443',
      tcpResult: 'ok',
      tcpMs: 0.3,
      result: 'ok',
      httpCode: 200,
      latencyMs: 2.5,
    })),
  };
}

function render(
  list: PeerCandidate[],
  failing: ReadonlySet<string> = new Set(),
  metrics = new ProbeMetrics(),
): { text: string; metrics: ProbeMetrics } {
  const peers = assignPeers(list, 10);
  const records = new Map<string, AgentRecord>();
  for (const a of list) {
    const report = fullReport(a, peers.get(a.name) ?? [], failing);
    metrics.ingest(a.name, report);
    records.set(a.name, { name: a.name, report, receivedMonoMs: 0, receivedWallMs: 0 });
  }
  metrics.refresh(list, (name) => records.get(name));
  return { text: exposition(metrics), metrics };
}

/** The probe families' exposition as a scrape would send it. */
function exposition(m: { appendTo(out: Exposition): void }): string {
  const out: Exposition = [];
  m.appendTo(out);
  return expositionText(out);
}

/** Every agent dual-stack: each pair probed over both families; `failing` fails over `family` only. */
function dualStackRecords(list: readonly PeerCandidate[], failing: IpFamily | null): Map<string, AgentRecord> {
  const peers = assignPeers(list, 10);
  const records = new Map<string, AgentRecord>();
  for (const a of list) {
    const base = fullReport(a, peers.get(a.name) ?? []);
    const i = list.indexOf(a);
    const report: Report = {
      ...base,
      listenByFamily: { ipv4: a.address, ipv6: `[fd00::${i.toString(16)}]:8090` },
      exporterByFamily: {
        ipv4: { result: 'ok', latencyMs: 1.2 },
        ipv6: { result: failing === 'ipv6' ? 'timeout' : 'ok', latencyMs: null },
      },
      dns: (base.dns ?? []).flatMap((q) =>
        (['ipv4', 'ipv6'] as const).map((family) =>
          family === failing ? { ...q, family, result: 'timeout' as const, latencyMs: null } : { ...q, family },
        ),
      ),
      peers: (base.peers ?? []).flatMap((p) =>
        (['ipv4', 'ipv6'] as const).map((family) =>
          family === failing ? { ...p, family, result: 'timeout', lost: 3, rttMs: null } : { ...p, family },
        ),
      ),
    };
    records.set(a.name, { name: a.name, report, receivedMonoMs: 0, receivedWallMs: 0 });
  }
  return records;
}

const perAgent = (text: string, name: string): number => text.split('\n').filter((l) => l.includes(`agent="${name}"`)).length;
const documented = Number(/^## Probe series per agent: (\d+)$/m.exec(doc)?.[1]);
const documentedDual = Number(/^### Dual-stack agents: (\d+)$/m.exec(doc)?.[1]);

t.test('series per agent are constant from 10 to 1,000 agents', async (t) => {
  t.ok(documented > 0, 'docs/metrics.md states the number');
  for (const nodes of [5, 50, 500]) {
    const list = agents(nodes);
    const { text } = render(list);
    const counts = new Set(list.map((a) => perAgent(text, a.name)));
    t.same([...counts], [documented], `${list.length} agents: ${documented} probe series each`);
    const rtt = text.split('\n').filter((l) => l.startsWith('netchecker_peer_rtt_seconds')).length;
    t.equal(rtt, 4 * (12 + 1 + 2), `${list.length} agents: RTT histograms only per network pair`);
    t.equal(text.split('\n').filter((l) => l && !l.startsWith('#')).length, list.length * documented + rtt, 'nothing else grows');
  }
});

t.test('a failing pair has one sparse series, removed when it recovers', async (t) => {
  const list = agents(6);
  const victim = 'agent-host-3';
  const { text, metrics } = render(list, new Set([victim]));
  const failing = text.split('\n').filter((l) => l.startsWith('netchecker_agent_peer_unreachable{'));
  t.ok(failing.length >= 10, `every prober of ${victim} shows the pair (${failing.length})`);
  t.ok(failing.every((l) => l.includes(`peer="${victim}",peer_node="node-3",peer_network="host",result="timeout"} 1`)));
  t.match(
    text,
    new RegExp(`netchecker_agent_probed_by\\{agent="${victim}",node="node-3",network="host",status="unreachable"\\} ${failing.length}`),
  );
  t.match(text, /netchecker_agent_peers\{agent="agent-pod-0",[^}]*peer_network="host",status="unreachable"\} 1/);
  const healed = render(list, new Set(), metrics).text;
  t.notMatch(healed, /netchecker_agent_peer_unreachable\{/, 'recovered: the sparse series are gone');
  t.match(healed, new RegExp(`netchecker_agent_probed_by\\{agent="${victim}",[^}]*status="unreachable"\\} 0`));
});

t.test('starved rounds stay out of the RTT histogram', async (t) => {
  const m = new ProbeMetrics();
  const [a] = agents(1) as [PeerCandidate];
  const report = fullReport(a, agents(2).slice(2), new Set());
  m.ingest(a.name, { ...report, integrity: { eventLoopLagMs: 900, cpuThrottledRatio: null, starved: true } });
  t.match(exposition(m), /netchecker_peer_rtt_seconds_count\{network="pod",peer_network="pod"\} 0/);
  m.ingest(a.name, report);
  t.match(exposition(m), /netchecker_peer_rtt_seconds_count\{network="pod",peer_network="pod"\} 1/);
});

t.test('loss and round trip are given per target agent, starved probers left out', async (t) => {
  const list = agents(6);
  const victim = 'agent-pod-2';
  const peers = assignPeers(list, 10);
  const records = new Map<string, AgentRecord>();
  const probers = list.filter((a) => (peers.get(a.name) ?? []).some((p) => p.name === victim));
  const starved = probers[0] as PeerCandidate;
  for (const a of list) {
    const base = fullReport(a, peers.get(a.name) ?? []);
    // Every prober loses 1 of 3 probes to the victim, 2 ms round trip; the starved one loses all, 900 ms.
    const report: Report = {
      ...base,
      peers: (base.peers ?? []).map((p) =>
        p.name !== victim ? p : a === starved ? { ...p, result: 'timeout', lost: 3, rttMs: 900 } : { ...p, lost: 1, rttMs: 2 },
      ),
      integrity: { eventLoopLagMs: a === starved ? 900 : 2, cpuThrottledRatio: null, starved: a === starved },
    };
    records.set(a.name, { name: a.name, report, receivedMonoMs: 0, receivedWallMs: 0 });
  }
  const m = new ProbeMetrics();
  m.refresh(list, (name) => records.get(name));
  const text = exposition(m);
  t.ok(probers.length >= 3, `${probers.length} probers of ${victim}`);
  t.match(
    text,
    new RegExp(`netchecker_agent_probed_loss_ratio\\{agent="${victim}",node="node-2",network="pod"\\} 0.333`),
    'one third lost, the starved prober left out',
  );
  t.match(
    text,
    new RegExp(`netchecker_agent_probed_rtt_seconds\\{agent="${victim}",node="node-2",network="pod"\\} 0.002\\n`),
    'median round trip 2 ms',
  );
  t.match(text, /netchecker_agent_probed_loss_ratio\{agent="agent-pod-3",node="node-3",network="pod"\} 0\n/, 'the others lose nothing');
  t.match(text, /netchecker_agent_probed_rtt_seconds\{agent="agent-pod-3",node="node-3",network="pod"\} 0.0004\n/);
});

t.test('dual-stack agents: a constant few more series each, from 10 to 1,000 agents', async (t) => {
  t.ok(documentedDual > documented, `docs/metrics.md states the dual-stack number (${documentedDual})`);
  for (const nodes of [5, 50, 500]) {
    const list = agents(nodes);
    const records = dualStackRecords(list, null);
    const m = new ProbeMetrics();
    m.refresh(list, (name) => records.get(name));
    const text = exposition(m);
    t.same([...new Set(list.map((a) => perAgent(text, a.name)))], [documentedDual], `${list.length} agents: ${documentedDual} each`);
  }
});

t.test('one family partitioned: its series fail, the other family stays reachable', async (t) => {
  const list = agents(6);
  const records = dualStackRecords(list, 'ipv6');
  const m = new ProbeMetrics();
  m.refresh(list, (name) => records.get(name));
  const text = exposition(m);
  const a = 'agent-pod-0';
  const value = (name: string, labels: string): number =>
    Number(new RegExp(`^${name}\\{agent="${a}",node="node-0",network="pod",${labels}\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  const peersOf = (family: string, status: string): number =>
    value('netchecker_agent_peers', `peer_network="pod",status="${status}",family="${family}"`) +
    value('netchecker_agent_peers', `peer_network="host",status="${status}",family="${family}"`);
  t.ok(peersOf('ipv6', 'unreachable') >= 10, 'IPv6: every assigned peer unreachable');
  t.equal(peersOf('ipv6', 'reachable'), 0);
  t.equal(peersOf('ipv4', 'unreachable'), 0, 'IPv4: nothing unreachable');
  t.equal(peersOf('ipv4', 'reachable'), peersOf('ipv6', 'unreachable'));
  t.ok(value('netchecker_agent_probed_by', 'status="unreachable",family="ipv6"') > 0, 'as a target: unreachable over IPv6');
  t.equal(value('netchecker_agent_probed_by', 'status="unreachable",family="ipv4"'), 0, 'as a target: reachable over IPv4');
  const sparse = text.split('\n').filter((l) => l.startsWith('netchecker_agent_peer_unreachable{'));
  t.ok(sparse.length > 0 && sparse.every((l) => l.includes('family="ipv6"')), 'every failing pair names IPv6');
  t.equal(value('netchecker_agent_exporter_family_up', 'family="ipv6"'), 0, 'the exporter over IPv6: failing');
  t.equal(value('netchecker_agent_exporter_family_up', 'family="ipv4"'), 1, 'the exporter over IPv4: ok');
  t.equal(value('netchecker_agent_dns_up', 'family="ipv6"'), 0, 'DNS over IPv6 (AAAA): failing');
  t.equal(value('netchecker_agent_dns_up', 'family="ipv4"'), 1, 'DNS over IPv4 (A): ok');
});

t.test('one node cut over one family: its own failed probes are no loss towards the others', async (t) => {
  const list = agents(6);
  const records = dualStackRecords(list, null);
  const cut = (p: { family?: IpFamily | null; node: string }, node: string): boolean =>
    p.family === 'ipv6' && (node === 'node-1' || p.node === 'node-1');
  for (const [name, r] of records) {
    const peers = (r.report.peers ?? []).map((p) => (cut(p, r.report.nodeName) ? { ...p, result: 'timeout', lost: 3, rttMs: null } : p));
    records.set(name, { ...r, report: { ...r.report, peers } });
  }
  const m = new ProbeMetrics();
  m.refresh(list, (name) => records.get(name));
  const loss = (agent: string, node: string): number =>
    Number(
      new RegExp(`^netchecker_agent_probed_loss_ratio\\{agent="${agent}",node="${node}",network="pod"\\} (\\S+)$`, 'm').exec(
        exposition(m),
      )?.[1] ?? NaN,
    );
  t.ok(loss('agent-pod-1', 'node-1') > 0.4, 'the cut node: its probers lose their IPv6 probes to it');
  t.equal(loss('agent-pod-3', 'node-3'), 0, "another node: the cut node's failed probes left out");
});

t.test('single-stack agents: no family label anywhere', async (t) => {
  const { text } = render(agents(6), new Set(['agent-host-3']));
  t.notMatch(text, /family=/);
});
