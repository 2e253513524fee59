// Starts a real exporter in this process on a free loopback port, with its log captured and an
// optional fake clock; stopped when the test ends.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { createLogger } from '../../lib/log.js';
import { parseExporterConfig } from '../../exporter/config.js';
import { type RunningExporter, startExporter } from '../../exporter/main.js';
import type { Clock } from '../../lib/clock.js';

export interface TestExporter extends RunningExporter {
  readonly logs: Array<Record<string, unknown>>;
}

export async function startTestExporter(t: Test, args: string[] = [], clock?: Clock, env: NodeJS.ProcessEnv = {}): Promise<TestExporter> {
  const parsed = parseExporterConfig(['--listen', '127.0.0.1:0', ...args], env);
  if (!parsed.ok) throw new Error(parsed.error);
  if (parsed.help) throw new Error('--help is not a test exporter');
  const logs: Array<Record<string, unknown>> = [];
  const log = createLogger('debug', {}, (line) => logs.push(JSON.parse(line) as Record<string, unknown>));
  const exporter = await startExporter(parsed.config, log, clock);
  t.teardown(() => exporter.close());
  return Object.assign(Object.create(exporter) as RunningExporter, {
    url: exporter.url,
    monitor: exporter.monitor,
    close: () => exporter.close(),
    logs,
  });
}

/** A clock the test moves by hand. */
export class FakeClock implements Clock {
  mono = 1_000_000;
  wall = Date.parse('2026-11-26T07:17:36Z');
  monoMs(): number {
    return this.mono;
  }
  wallMs(): number {
    return this.wall;
  }
  advance(seconds: number): void {
    this.mono += seconds * 1000;
    this.wall += seconds * 1000;
  }
}

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** The original agent's recorded reports, as bytes, with the pod name each was sent for. */
export function originalReports(): Array<{ name: string; body: Buffer; kind: 'pod' | 'hostnet' }> {
  return (['pod', 'hostnet'] as const).map((kind) => {
    const body = readFileSync(`${FIXTURES}original-agent/report-${kind}.json`);
    return { name: (JSON.parse(body.toString()) as { podname: string }).podname, body, kind };
  });
}

export async function postReport(
  url: string,
  name: string,
  body: string | Buffer,
  headers: Record<string, string> = { 'Content-Type': 'application/json' },
): Promise<Response> {
  return fetch(`${url}/api/v1/agents/${name}`, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers });
}

/** A minimal valid report body from our agent's point of view. */
export function report(fields: Record<string, unknown> = {}): string {
  return JSON.stringify({ report_interval: 2, nodename: 'node-a', podname: 'x', hostdate: new Date().toISOString(), ...fields });
}

/**
 * A dual-stack agent's report body: agent `names[i]` on node `node-<last character of its name>`,
 * a listener in each family, every other agent of `names` probed over each, IPv6 failing between
 * the agents in `cutV6`.
 */
export function dualStackReport(names: readonly string[], i: number, cutV6: readonly string[]): string {
  const name = names[i] as string;
  const nodeOf = (n: string): string => `node-${n.slice(-1)}`;
  const at = { ipv4: `198.18.0.${i + 1}:8090`, ipv6: `[fd00:18::${i + 1}]:8090` };
  const peers = names
    .filter((p) => p !== name)
    .flatMap((p) =>
      (['ipv4', 'ipv6'] as const).map((family) => {
        const cut = family === 'ipv6' && cutV6.includes(name) && cutV6.includes(p);
        return {
          name: p,
          node: nodeOf(p),
          network: 'pod',
          result: cut ? 'timeout' : 'ok',
          sent: 3,
          lost: cut ? 3 : 0,
          rtt_ms: cut ? null : 1,
          family,
        };
      }),
    );
  return report({ nodename: nodeOf(name), network: 'pod', report_interval: 5, listen: at.ipv4, listen_by_family: at, peers });
}

/** Value of one series in an exposition text, or undefined. */
export function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}
