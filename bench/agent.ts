// The agent's own cost: resident memory and CPU share of agent processes that report to an
// exporter and probe each other (11 agents on loopback, so each has 10 peers), measured from
// /proc over a window that starts once every agent probes its 10 peers. The agents run with the
// Node flags the DaemonSets give them (test/deploy-manifests.test.ts keeps the two the same),
// and with every probe on, each against a local endpoint: the API server (a TLS server here,
// both ways), a must-be-blocked target (a closed port), DNS (dnsmasq), two cluster DNS replicas
// queried directly (the same dnsmasq and a second one, handed out by the exporter), ICMP and path
// MTU (ping, when this machine lets the agents ping). The probes that ran are read back from the
// exporter.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { selfSigned } from '../test/helpers/fake-kube.js';
import { freePort } from '../test/helpers/ports.js';
import { type Dnsmasq, startDnsmasq } from '../test/lab/dnsmasq.js';
import { CLI, cpuSeconds, median, rssBytes, startExporter } from './lib.js';

export interface AgentRow {
  intervalSeconds: number;
  windowSeconds: number;
  peers: number;
  /** Medians over the agents. */
  rssBytes: number;
  cpuPercent: number;
  /** RSS of a Node process that does nothing, with the same flags: the floor under the agent's. */
  bareNodeRssBytes: number;
  /** The probes every agent ran, as read from the exporter (ICMP and path MTU only where ping is allowed). */
  probes: string[];
  /** Of the last round's results above, those that failed, by probe (a busy machine times some out). */
  failedResults: string;
}

const PEERS = 10;

/** Node flags of the agent containers: see the comment at `command` in deploy/base/agent.yaml. */
export const AGENT_NODE_FLAGS: readonly string[] = ['--single-threaded'];

const DNS_NAMES = ['netchecker-service.default.svc.cluster.local', 'kubernetes.default.svc.cluster.local'];

/** Cluster DNS replicas the exporter hands out (--dns-replicas), each queried directly by every agent. */
const DNS_REPLICAS = 2;

/** The endpoints of the probes besides peers and the exporter, on loopback; the agents' and the exporter's flags and env for them. */
async function localEndpoints(
  cleanups: (() => unknown)[],
): Promise<{ args: string[]; env: Record<string, string>; exporterArgs: string[]; replicaQueries: () => number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-agent-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const api = https.createServer(selfSigned(dir, 'kube-apiserver', 'IP:127.0.0.1,DNS:localhost'), (_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => (api.closeAllConnections(), api.close()));
  // The DNS Service's address is a resolver of its own, so that each replica counts only the
  // direct queries to it: the evidence that every agent ran them, whether or not the exporter
  // counts an agent (it leaves out starved ones, and on a busy machine that can be all).
  const records = DNS_NAMES.map((n) => [n, '127.0.0.1'] as const);
  const teardown = { teardown: (fn: () => unknown) => void cleanups.push(fn) };
  const dns = await startDnsmasq(teardown, { address: '127.0.0.1', port: 0, records });
  const servers: Dnsmasq[] = [];
  for (let i = 0; i < DNS_REPLICAS; i++)
    servers.push(await startDnsmasq(teardown, { address: '127.0.0.1', port: 0, records, countQueries: true }));
  const replicas = servers.map((d, i) => `${d.server}=coredns-${i}@node-${i}`);
  return {
    args: [
      ...['--api-server-name', 'localhost', '--api-server-ca', join(dir, 'cert.pem')],
      ...['--must-be-blocked', `127.0.0.1:${await freePort()}`],
      ...['--dns-server', dns.server, '--dns-names', DNS_NAMES.join(',')],
    ],
    env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String((api.address() as AddressInfo).port) },
    exporterArgs: ['--dns-replicas', replicas.join(',')],
    replicaQueries: () => servers.map((d) => d.queries()),
  };
}

/**
 * The probes every one of `count` agents ran in its last round, read from the exporter's metrics,
 * and how many of their results failed. Throws when one of those always on did not run, since the
 * figure would not be for all probes; a failed result still ran (a busy machine times some out).
 * The DNS replicas are checked at the replicas: `replicaQueries` is how many queries each received.
 */
function probesRun(text: string, count: number, replicaQueries: readonly number[]): { probes: string[]; failed: string } {
  const agentsWith = (re: RegExp): Set<string> => new Set([...text.matchAll(re)].map((m) => m[1] ?? ''));
  /** The values of a family's series, and how many agents have one (a dual-stack agent has one per family). */
  const results = (re: RegExp): { values: number[]; agents: number } => ({
    values: [...text.matchAll(re)].map((m) => Number(m[2])),
    agents: agentsWith(re).size,
  });
  // The replica series count the agents that are up, not starved and queried the replicas in their
  // last round (a busy machine starves some, makes some late, cuts some rounds short).
  const starved = agentsWith(/^netchecker_agent_starved\{agent="([^"]*)"[^}]*\} 1$/gm);
  const counted = [...agentsWith(/^netchecker_agent_up\{agent="([^"]*)"[^}]*\} 1$/gm)].filter((a) => !starved.has(a)).length;
  const replicas = (status: string): number[] =>
    [...text.matchAll(new RegExp(`^netchecker_dns_replica_agents\\{[^}]*status="${status}"\\} (\\d+)$`, 'gm'))].map((m) => Number(m[1]));
  const [replicaOk, replicaFailing] = [replicas('ok'), replicas('failing')];
  const replicaQueried = replicaOk.map((n, i) => n + (replicaFailing[i] ?? 0));
  const exporter = results(/^netchecker_agent_exporter_probe_success\{agent="([^"]*)"[^}]*\} ([01])$/gm);
  const apiServer = results(/^netchecker_agent_api_server_up\{agent="([^"]*)"[^}]*check="https"\} ([01])$/gm);
  const blocked = results(/^netchecker_agent_blocked_paths\{agent="([^"]*)"[^}]*status="blocked"\} ([01])$/gm);
  const dns = results(/^netchecker_agent_dns_up\{agent="([^"]*)"[^}]*\} ([01])$/gm);
  const must = {
    'the exporter and 10 peers (HTTP)': exporter.agents === count,
    'the API server (TLS, Service address and DNS name)': apiServer.agents === count && apiServer.values.length >= 2 * count,
    'a must-be-blocked target': blocked.agents === count,
    [`DNS (${DNS_NAMES.length} names)`]: dns.agents === count,
    [`${DNS_REPLICAS} DNS replicas (direct queries)`]:
      replicaQueries.length === DNS_REPLICAS && replicaQueries.every((n) => n >= count) && replicaQueried.every((n) => n <= counted),
  };
  const notRun = Object.entries(must).filter(([, ran]) => !ran);
  if (notRun.length > 0) {
    const replicaFigures = `DNS replicas: [${replicaQueries.join(', ')}] queries received, [${replicaQueried.join(', ')}] agents counted of ${counted} up and not starved`;
    throw new Error(`not every one of ${count} agents ran ${notRun.map(([p]) => p).join(', ')} (${replicaFigures})`);
  }
  const failedBy = Object.entries({ exporter, 'API server': apiServer, 'blocked target': blocked, DNS: dns })
    .map(([name, r]) => [name, r.values.filter((v) => v === 0).length] as const)
    .concat([
      ['DNS replicas', replicaFailing.reduce((a, b) => a + b, 0)],
      ['DNS replicas not queried', replicaQueried.reduce((a, n) => a + counted - n, 0)],
    ])
    .filter(([, n]) => n > 0);
  const failed = failedBy.length === 0 ? '0' : failedBy.map(([name, n]) => `${name} ${n}`).join(', ');
  const icmp = results(/^netchecker_agent_icmp_available\{agent="([^"]*)"[^}]*\} (1)$/gm).agents === count;
  return {
    probes: [...Object.keys(must), ...(icmp ? ['ICMP', 'path MTU (4 sizes)'] : ['no ICMP nor path MTU (ping not allowed here)'])],
    failed,
  };
}

export async function benchAgent(intervalSeconds: number, windowSeconds: number): Promise<AgentRow> {
  const cleanups: (() => unknown)[] = [];
  const agents: ChildProcess[] = [];
  try {
    const local = await localEndpoints(cleanups);
    const exporter = await startExporter(['--mesh-peers', String(PEERS), ...local.exporterArgs]);
    cleanups.push(() => exporter.stop()); // stopped first: cleanups run in reverse
    for (let i = 0; i <= PEERS; i++) {
      const args = [
        ...AGENT_NODE_FLAGS,
        CLI,
        'agent',
        '--server',
        exporter.url,
        '--name',
        `bench-agent-${i}`,
        '--node',
        `node-${i}`,
        '--interval',
        String(intervalSeconds),
        '--listen',
        '127.0.0.1:0',
        // Single-stack whatever this machine's interfaces (an IPv6 address would make the agents
        // dual-stack and ask AAAA of a resolver that has only A records).
        '--advertise',
        '127.0.0.1',
        '--log-level',
        'warn',
        ...local.args,
      ];
      agents.push(spawn(process.execPath, args, { stdio: 'ignore', env: { ...process.env, ...local.env } }));
    }
    await everyAgentProbing(exporter.url, agents.length, 60_000, 5 * intervalSeconds * 1000 + 10_000);
    const pids = agents.map((a) => a.pid as number);
    const cpu0 = pids.map(cpuSeconds);
    await sleep(windowSeconds * 1000);
    const cpu = pids.map((pid, i) => cpuSeconds(pid) - (cpu0[i] as number));
    const { probes, failed } = probesRun(
      await fetch(`${exporter.url}/metrics`).then((r) => r.text()),
      agents.length,
      local.replicaQueries(),
    );
    const bare = spawn(process.execPath, [...AGENT_NODE_FLAGS, '-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    agents.push(bare);
    await sleep(1000);
    return {
      intervalSeconds,
      windowSeconds,
      peers: PEERS,
      rssBytes: median(pids.map(rssBytes)),
      cpuPercent: median(cpu.map((s) => (100 * s) / windowSeconds)),
      bareNodeRssBytes: rssBytes(bare.pid as number),
      probes,
      failedResults: failed,
    };
  } finally {
    for (const a of agents) a.kill('SIGTERM');
    for (const c of cleanups.reverse()) await c();
  }
}

/**
 * Waits until every agent's last round probed all its peers (the mesh needs a round to form).
 * Two bounds: `startMs` for every agent to have reported once (process start, which a busy
 * machine stretches), then `stallMs` without the mesh growing: a busy machine slows the rounds,
 * and only a mesh that stops growing is stuck.
 */
async function everyAgentProbing(url: string, count: number, startMs: number, stallMs: number): Promise<void> {
  let until = Date.now() + startMs;
  let started = false;
  let most = 0;
  for (;;) {
    const text = await fetch(`${url}/metrics`).then((r) => r.text());
    const probed = new Map<string, number>();
    for (const m of text.matchAll(/^netchecker_agent_peers\{agent="([^"]+)"[^}]*\} (\d+)$/gm))
      probed.set(m[1] as string, (probed.get(m[1] as string) ?? 0) + Number(m[2]));
    if (probed.size === count && [...probed.values()].every((n) => n === PEERS)) return;
    const total = [...probed.values()].reduce((a, b) => a + b, 0);
    if (probed.size === count && (!started || total > most)) {
      started = true;
      most = Math.max(most, total);
      until = Date.now() + stallMs;
    }
    if (Date.now() > until) {
      throw new Error(
        started
          ? `agents' mesh stopped growing for ${stallMs} ms short of ${PEERS} peers each: ${JSON.stringify([...probed])}`
          : `only ${probed.size} of ${count} agents reported within ${startMs} ms`,
      );
    }
    await sleep(500);
  }
}
