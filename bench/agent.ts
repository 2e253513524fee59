// The agent's own cost: resident memory and CPU share of one agent process reporting to an
// exporter at a given interval, measured from /proc over a window.

import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI, cpuSeconds, rssBytes, startExporter } from './lib.js';

export interface AgentRow {
  intervalSeconds: number;
  windowSeconds: number;
  rssBytes: number;
  cpuPercent: number;
}

export async function benchAgent(intervalSeconds: number, windowSeconds: number): Promise<AgentRow> {
  const exporter = await startExporter([]);
  const agent = spawn(process.execPath, [CLI, 'agent', '--server', exporter.url, '--name', 'bench-agent', '--interval', String(intervalSeconds), '--log-level', 'warn'], { stdio: 'ignore' });
  try {
    await sleep(2000); // start-up (module loading, first report) is not the steady state
    const pid = agent.pid as number;
    const cpu0 = cpuSeconds(pid);
    await sleep(windowSeconds * 1000);
    const cpu = cpuSeconds(pid) - cpu0;
    return { intervalSeconds, windowSeconds, rssBytes: rssBytes(pid), cpuPercent: (100 * cpu) / windowSeconds };
  } finally {
    agent.kill('SIGTERM');
    await exporter.stop();
  }
}
