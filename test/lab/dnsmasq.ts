// dnsmasq as a real resolver for tests: on loopback (a free port) or inside a lab namespace. It
// serves only the records given, forwards nothing (no upstream: unknown names are REFUSED), and
// never reads this machine's resolv.conf or hosts file. Stopped when the test ends.

import { type ChildProcess, spawn } from 'node:child_process';
import type { Test } from 'tap';
import { probeDns } from '../../agent/probes/dns.js';
import { freePort } from '../helpers/ports.js';

export interface DnsmasqOptions {
  /** Address to serve on (loopback or a namespace's address). */
  readonly address: string;
  /** 0: a free port (loopback only). */
  readonly port: number;
  /** name -> IPv4 or IPv6 address (an A or AAAA record); a name may repeat. */
  readonly records: ReadonlyArray<readonly [string, string]>;
  /** Domains answered NXDOMAIN. */
  readonly nxdomains?: readonly string[];
  /** Run inside this network namespace (ip netns exec). */
  readonly netns?: string;
  /** Log each query, so that queries() counts them. */
  readonly countQueries?: boolean;
}

export interface Dnsmasq {
  /** IP:PORT for --dns-server. */
  readonly server: string;
  stop(): Promise<void>;
  /** Starts it again after stop(), same address and port. */
  start(): Promise<void>;
  /** Queries received since it was ready (countQueries only; 0 otherwise). */
  queries(): number;
}

/** `t` stops it at its teardown: a tap test, or the benchmark's own list (bench/agent.ts). */
export async function startDnsmasq(t: Pick<Test, 'teardown'>, o: DnsmasqOptions): Promise<Dnsmasq> {
  // A port free a moment ago may be taken by the time dnsmasq binds it (TCP and UDP): try a few.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOn(t, o, o.port || (await freePort()));
    } catch (e) {
      if (o.port || attempt >= 5 || !/Address already in use/.test((e as Error).message)) throw e;
    }
  }
}

async function startOn(t: Pick<Test, 'teardown'>, o: DnsmasqOptions, port: number): Promise<Dnsmasq> {
  const server = `${o.address}:${port}`;
  const args = [
    '--keep-in-foreground',
    '--no-resolv',
    '--no-hosts',
    '--no-poll',
    '--conf-file=/dev/null',
    '--pid-file=',
    '--user=root',
    `--listen-address=${o.address}`,
    '--bind-interfaces',
    `--port=${port}`,
    '--log-facility=-',
    '--cache-size=0',
    ...o.records.map(([name, ip]) => `--host-record=${name},${ip}`),
    ...(o.nxdomains ?? []).map((d) => `--address=/${d}/`),
    ...(o.countQueries ? ['--log-queries'] : []),
  ];
  let child: ChildProcess | null = null;
  let log = '';
  let queries = 0;
  let partial = '';
  const count = (d: string): void => {
    const lines = (partial + d).split('\n');
    partial = lines.pop() ?? '';
    queries += lines.filter((l) => / query\[/.test(l)).length;
  };
  const start = async (): Promise<void> => {
    const [cmd, argv] = o.netns ? ['ip', ['netns', 'exec', o.netns, 'dnsmasq', ...args]] : ['dnsmasq', args];
    const c = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    c.on('error', (e) => (log += `\n${e.message}`));
    c.stderr?.setEncoding('utf8').on('data', (d: string) => {
      log = (log + d).slice(-4000);
      count(d);
    });
    // Ready when it answers (REFUSED for a name it does not know is an answer).
    const probe = o.records[0]?.[0] ?? 'ready.invalid';
    for (let i = 0; i < 50; i++) {
      if (c.exitCode !== null) break;
      const r = o.netns ? { result: 'ok' } : await probeDns({ server, name: probe }, { timeoutMs: 200 });
      if (r.result !== 'timeout' && r.result !== 'other') {
        if (o.netns) await new Promise((res) => setTimeout(res, 300));
        queries = 0; // the readiness probes are not the test's queries
        return;
      }
    }
    throw new Error(`dnsmasq did not start on ${server} (is the Debian package dnsmasq-base installed?):${log}`);
  };
  const stop = (): Promise<void> => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  };
  await start();
  t.teardown(stop);
  return { server, stop, start, queries: () => queries };
}
