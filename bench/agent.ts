// The agent's own cost: resident memory and CPU share of agent processes that report to an
// exporter and probe each other (11 agents on loopback, so each has 10 peers), measured from
// /proc over a window that starts once every agent probes its 10 peers. The agents run with the
// Node flags the DaemonSets give them (test/deploy-manifests.test.ts keeps the two the same).

import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
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
}

const PEERS = 10;

/** Node flags of the agent containers: see the comment at `command` in deploy/base/agent.yaml. */
export const AGENT_NODE_FLAGS: readonly string[] = ['--single-threaded'];

export async function benchAgent(intervalSeconds: number, windowSeconds: number): Promise<AgentRow> {
  const exporter = await startExporter(['--mesh-peers', String(PEERS)]);
  const agents: ChildProcess[] = [];
  try {
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
        '--log-level',
        'warn',
      ];
      agents.push(spawn(process.execPath, args, { stdio: 'ignore' }));
    }
    await everyAgentProbing(exporter.url, agents.length, 60_000, 5 * intervalSeconds * 1000 + 10_000);
    const pids = agents.map((a) => a.pid as number);
    const cpu0 = pids.map(cpuSeconds);
    await sleep(windowSeconds * 1000);
    const cpu = pids.map((pid, i) => cpuSeconds(pid) - (cpu0[i] as number));
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
    };
  } finally {
    for (const a of agents) a.kill('SIGTERM');
    await exporter.stop();
  }
}

/**
 * Waits until every agent's last round probed all its peers (the mesh needs a round to form).
 * Two bounds: `startMs` for every agent to have reported once (process start, which a busy
 * machine stretches), then `meshMs` from that moment for the mesh to form.
 */
async function everyAgentProbing(url: string, count: number, startMs: number, meshMs: number): Promise<void> {
  let until = Date.now() + startMs;
  let started = false;
  for (;;) {
    const text = await fetch(`${url}/metrics`).then((r) => r.text());
    const probed = new Map<string, number>();
    for (const m of text.matchAll(/^netchecker_agent_peers\{agent="([^"]+)"[^}]*\} (\d+)$/gm))
      probed.set(m[1] as string, (probed.get(m[1] as string) ?? 0) + Number(m[2]));
    if (probed.size === count && [...probed.values()].every((n) => n === PEERS)) return;
    if (!started && probed.size === count) {
      started = true;
      until = Date.now() + meshMs;
    }
    if (Date.now() > until) {
      throw new Error(
        started
          ? `agents did not all probe ${PEERS} peers within ${meshMs} ms of reporting: ${JSON.stringify([...probed])}`
          : `only ${probed.size} of ${count} agents reported within ${startMs} ms`,
      );
    }
    await sleep(500);
  }
}
