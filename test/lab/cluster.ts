// The lab cluster: on the lab network (netns.ts), the exporter and dnsmasq (cluster DNS) in the
// exporter's namespace, and on every node a host-network agent (node namespace) and a pod-network
// agent (pod namespace), all the real built CLI (`npm run build` first). The test reads the
// exporter through a unix socket forwarded into its namespace: it never joins the lab network.
// Options: other discovery flags in place of the static --expect list, and loopback services of
// the test (the fake Kubernetes API) that the exporter reaches at the same address in its
// namespace, through unix sockets; extra agent flags and environment; the nodes' and pods'
// resolv.conf naming the cluster DNS. The test may stop and start the exporter and any agent.

import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority, setPriority, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { CLI } from '../helpers/cli.js';
import { type LabNet, type LabNode, createLabNet } from './netns.js';

export const INTERVAL_SECONDS = 2;
/** The agents' --timeout: a probe that gets no answer within it is a timeout. */
export const TIMEOUT_SECONDS = 1.5;
export const PROXY = fileURLToPath(new URL('./tcp-proxy.mjs', import.meta.url));
/**
 * The lab outweighs the machine's other work for the CPU, as a DaemonSet's pods with CPU requests
 * outweigh best-effort pods on a busy node. Without it two CPU hogs starve the agents, which then
 * rightly report themselves starved and leave the faults under test unknown.
 */
export const LAB_NICE = -10;
export const DNS_NAMES = ['kubernetes.default.svc.cluster.local', 'netchecker-service.default.svc.cluster.local'];

export interface LabAgent {
  readonly name: string;
  readonly node: LabNode;
  readonly network: 'pod' | 'host';
}

export interface LabOptions {
  /** Exporter flags in place of `--expect <every agent> --startup-grace 10`, e.g. Kubernetes discovery. */
  readonly discovery?: readonly string[];
  /** Loopback addresses (127.0.0.1:PORT) of the test's own servers, reachable at the same address from the exporter. */
  readonly hostServices?: readonly string[];
  /**
   * Dual-stack: IPv6 ULA addresses beside IPv4 (netns.ts); agents listen on both families and
   * advertise both, and the exporter vouches for the lab's IPv6 range (--peer-cidrs): static
   * discovery knows only a report's source address, which is IPv4.
   */
  readonly dualStack?: boolean;
  /**
   * IPv6 addresses in the lab (as with dualStack) while the agents stay single-stack: an agent
   * started with `startAgent(a, name, { dualStack: true })` is dual-stack from then on.
   */
  readonly ipv6?: boolean;
  /** Agent flags after the lab's own, and environment variables (KUBERNETES_SERVICE_HOST, ...); called once, with the lab network. */
  readonly agents?: (net: LabNet) => { readonly args?: readonly string[]; readonly env?: Readonly<Record<string, string>> };
  /** The nodes' and pods' resolv.conf names the cluster DNS (through /etc/netns), as a pod's does: getaddrinfo resolves in-cluster names. */
  readonly resolvConf?: boolean;
  /** Exporter flags added to the others, e.g. --dns-replicas. */
  readonly exporterArgs?: readonly string[];
  /** The agents' resolver (--dns-server) in place of the exporter namespace's dnsmasq, e.g. a Service-like address. */
  readonly agentDnsServer?: string;
}

export interface LabCluster {
  readonly net: LabNet;
  readonly agents: readonly LabAgent[];
  /** The unix socket forwarded to the exporter's port 8081. */
  readonly socket: string;
  /** Kills the exporter (SIGKILL) and waits for it to exit. */
  stopExporter(): Promise<void>;
  /** Starts the exporter again; resolves once it answers. */
  startExporter(): Promise<void>;
  /** Kills an agent process (SIGKILL) and waits for it to exit; quiet when it is not running. */
  stopAgent(a: LabAgent): Promise<void>;
  /** Starts an agent process, under another name when its pod was replaced; dual-stack or not (the lab's option by default). */
  startAgent(a: LabAgent, name?: string, o?: { dualStack?: boolean }): Promise<void>;
  /** GET a path of the exporter; status and body. */
  get(path: string): Promise<{ status: number; body: string }>;
  metrics(): Promise<Metric[]>;
  /** Starts a process inside a namespace; killed at teardown. */
  spawnIn(ns: string, cmd: string[], ready?: RegExp): Promise<ChildProcess>;
  startDns(): Promise<void>;
  stopDns(): Promise<void>;
}

export interface Metric {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses the text format (our own output: no escapes in lab label values). */
export function parseMetrics(text: string): Metric[] {
  const out: Metric[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[l[1] as string] = l[2] as string;
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** Series of a family whose labels include all of `labels`. */
export function select(ms: readonly Metric[], name: string, labels: Record<string, string> = {}): Metric[] {
  return ms.filter((m) => m.name === name && Object.entries(labels).every(([k, v]) => m.labels[k] === v));
}

export async function startLabCluster(t: Test, nodeCount = 4, options: LabOptions = {}): Promise<LabCluster> {
  const net = await createLabNet(t, nodeCount, { ipv6: options.dualStack === true || options.ipv6 === true });
  // Set on the test's own thread, so every process it starts from here on (the lab's, Prometheus,
  // Alertmanager, the browser) inherits it, and so do the test's own servers.
  const nice = getPriority();
  setPriority(Math.min(nice, LAB_NICE));
  t.teardown(() => setPriority(nice));
  const socket = `${tmpdir()}/${net.prefix}-exporter.sock`;
  const serviceSocket = (i: number): string => `${tmpdir()}/${net.prefix}-service${i}.sock`;
  const children: ChildProcess[] = [];
  t.teardown(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(socket, { force: true });
    (options.hostServices ?? []).forEach((_, i) => rmSync(serviceSocket(i), { force: true }));
  });

  const spawnIn = (ns: string, cmd: string[], ready?: RegExp): Promise<ChildProcess> =>
    new Promise((resolve, reject) => {
      const c = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(c);
      let out = '';
      const onData = (d: Buffer): void => {
        out = (out + d.toString()).slice(-8000);
        if (ready?.test(out)) resolve(c);
      };
      c.stdout?.on('data', onData);
      c.stderr?.on('data', onData);
      c.once('exit', (code) => reject(new Error(`${cmd.join(' ')} in ${ns} exited (${code}): ${out}`)));
      if (!ready) resolve(c);
      else setTimeout(() => reject(new Error(`${cmd.join(' ')} in ${ns} not ready: ${out}`)), 15_000).unref();
    });

  /** A helper process in the machine's own namespace (a unix-socket forwarder). */
  const spawnHost = (args: string[], ready: RegExp): Promise<ChildProcess> =>
    new Promise((resolve, reject) => {
      const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(c);
      c.stdout?.on('data', (d: Buffer) => ready.test(d.toString()) && resolve(c));
      c.once('exit', (code) => reject(new Error(`${args.join(' ')} exited (${code})`)));
    });

  const agents: LabAgent[] = net.nodes.flatMap((node) => [
    { name: `agent-pod-n${node.index}`, node, network: 'pod' as const },
    { name: `agent-hostnet-n${node.index}`, node, network: 'host' as const },
  ]);
  const ex = net.exporterIp;
  // `ip netns exec` mounts each file of /etc/netns/<ns>/ over /etc/ for what runs inside. Hosts by
  // files and DNS only, as in a container image: this machine's mDNS module would claim *.local.
  for (const ns of options.resolvConf ? net.nodes.flatMap((n) => [n.hostNs, n.podNs]) : []) {
    const dir = `/etc/netns/${ns}`;
    mkdirSync(dir, { recursive: true });
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(`${dir}/resolv.conf`, `nameserver ${ex}\noptions timeout:1 attempts:1\n`);
    writeFileSync(`${dir}/nsswitch.conf`, 'hosts: files dns\n');
  }
  const extra = options.agents?.(net) ?? {};
  let dns: ChildProcess | null = null;
  const startDns = async (): Promise<void> => {
    if (dns && dns.exitCode === null) return; // running already
    // Dual-stack: each name has an address of each family, and dnsmasq answers on both (the DNS
    // Service's ClusterIP of each family, as a dual-stack cluster's kube-dns may have).
    const ex6 = options.dualStack ? net.exporterIp6 : null;
    const records = DNS_NAMES.map((n) => `--host-record=${n},${ex}${ex6 ? `,${ex6}` : ''}`);
    dns = await spawnIn(
      net.exporterNs,
      [
        'dnsmasq',
        '--keep-in-foreground',
        '--no-resolv',
        '--no-hosts',
        '--conf-file=/dev/null',
        '--pid-file=',
        '--user=root',
        `--listen-address=${ex}${ex6 ? `,${ex6}` : ''}`,
        '--bind-interfaces',
        '--log-facility=-',
        ...records,
      ],
      /started, version/,
    );
  };
  const stopDns = async (): Promise<void> => {
    const d = dns;
    dns = null;
    if (!d || d.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      d.removeAllListeners('exit');
      d.once('exit', () => resolve());
      d.kill('SIGTERM');
    });
  };
  await startDns();
  // Each service: host loopback <- unix socket <- the same address on the exporter's loopback.
  for (const [i, address] of (options.hostServices ?? []).entries()) {
    await spawnHost([PROXY, `unix:${serviceSocket(i)}`, address, '0'], /proxy listening/);
    await spawnIn(net.exporterNs, [process.execPath, PROXY, address, `unix:${serviceSocket(i)}`, '0'], /proxy listening/);
  }
  const discovery = options.discovery ?? ['--expect', agents.map((a) => a.name).join(','), '--startup-grace', '10'];
  let exporter: ChildProcess | null = null;
  const startExporter = async (): Promise<void> => {
    exporter = await spawnIn(net.exporterNs, [
      process.execPath,
      CLI,
      'exporter',
      '--listen',
      '0.0.0.0:8081',
      ...discovery,
      ...(net.exporterIp6 ? ['--peer-cidrs', 'fd00:18::/64,fd00:19::/32'] : []),
      ...(options.exporterArgs ?? []),
      '--log-level',
      'warn',
    ]);
  };
  await startExporter();
  await spawnIn(net.exporterNs, [process.execPath, PROXY, `unix:${socket}`, '127.0.0.1:8081', '0'], /proxy listening/);
  const running = new Map<LabAgent, ChildProcess>();
  const startAgent = async (a: LabAgent, name = a.name, { dualStack = options.dualStack === true } = {}): Promise<void> => {
    const ip = a.network === 'pod' ? a.node.podIp : a.node.hostIp;
    const ip6 = dualStack ? (a.network === 'pod' ? a.node.podIp6 : a.node.hostIp6) : null;
    running.set(
      a,
      await spawnIn(a.network === 'pod' ? a.node.podNs : a.node.hostNs, [
        ...(extra.env ? ['env', ...Object.entries(extra.env).map(([k, v]) => `${k}=${v}`)] : []),
        process.execPath,
        CLI,
        'agent',
        '--server',
        `http://${ex}:8081`,
        '--name',
        name,
        '--node',
        a.node.node,
        '--network',
        a.network,
        '--interval',
        String(INTERVAL_SECONDS),
        '--listen',
        ip6 ? '[::]:8090' : `${ip}:8090`,
        '--advertise',
        ip6 ? `${ip},${ip6}` : ip,
        '--dns-server',
        options.agentDnsServer ?? (net.exporterIp6 && options.dualStack ? `${ex},${net.exporterIp6}` : ex),
        '--dns-names',
        DNS_NAMES.join(','),
        '--timeout',
        String(TIMEOUT_SECONDS),
        '--mtu-sizes',
        '1400,1500',
        '--log-level',
        'warn',
        ...(extra.args ?? []),
      ]),
    );
  };
  for (const a of agents) await startAgent(a);

  const get = (path: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = http.get({ socketPath: socket, path, timeout: 3000 }, (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (c: string) => (body += c))
          .on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('timeout')));
    });
  const startExporterReady = async (): Promise<void> => {
    await startExporter();
    // A hang detector, not a speed bound: a busy machine's Node start takes what it takes, and the
    // fault matrix asserts a restart against ExporterDown's for:, measured in the same run.
    await within(60_000, 'the exporter to answer', async () =>
      (await get('/healthz').catch(() => null))?.status === 200 ? true : undefined,
    );
  };
  return {
    net,
    agents,
    socket,
    get,
    metrics: async () => parseMetrics((await get('/metrics')).body),
    spawnIn,
    startDns,
    stopDns,
    stopExporter: () => killAndWait(exporter),
    startExporter: startExporterReady,
    stopAgent: (a) => killAndWait(running.get(a) ?? null),
    startAgent,
  };
}

/** SIGKILL, resolved once the process is gone (the lab's own exit handler stays quiet). */
export function killAndWait(c: ChildProcess | null): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    c.removeAllListeners('exit');
    c.once('exit', () => resolve());
    c.kill('SIGKILL');
  });
}

/** Polls until check() returns a value, or fails after limitMs; returns it and how long it took. */
export async function within<T>(limitMs: number, what: string, check: () => Promise<T | undefined>): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  let last: unknown = null;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return { value: v, ms: Date.now() - start };
    } catch (e) {
      last = e;
    }
    if (Date.now() - start > limitMs)
      throw new Error(
        `not within ${limitMs} ms: ${what}${last ? ` (${last instanceof Error ? String(last) : JSON.stringify(last)})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Drops all traffic between two nodes (both networks) with nft rules in the first node's host
 * namespace; resolves with the undo, which is quiet when the rules are gone already.
 */
export async function partition(net: LabNet, a: LabNode, b: LabNode): Promise<() => Promise<unknown>> {
  const other = `{ ${b.hostIp}, 198.19.${b.index}.0/24 }`;
  await net.nft(
    a.hostNs,
    `table inet lab_partition {
      chain input { type filter hook input priority 0; ip saddr ${other} drop; }
      chain output { type filter hook output priority 0; ip daddr ${other} drop; }
      chain forward { type filter hook forward priority 0; ip saddr ${other} drop; ip daddr ${other} drop; }
    }`,
  );
  return () => net.exec(a.hostNs, ['nft', 'delete', 'table', 'inet', 'lab_partition']).catch(() => undefined);
}

/**
 * Drops one IP family between two nodes (both networks), the other family untouched: an `ip` or
 * `ip6` nft table in the first node's host namespace. Resolves with the undo.
 */
export async function partitionFamily(net: LabNet, a: LabNode, b: LabNode, family: 'ipv4' | 'ipv6'): Promise<() => Promise<unknown>> {
  const other = family === 'ipv4' ? `{ ${b.hostIp}, 198.19.${b.index}.0/24 }` : `{ ${b.hostIp6}, fd00:19:${b.index}::/64 }`;
  return blockFamily(net, a, family, other);
}

/** Drops one family between node `a` (its host and pod) and `other` (an nft address, set or prefix); returns the undo. */
export async function blockFamily(net: LabNet, a: LabNode, family: 'ipv4' | 'ipv6', other: string): Promise<() => Promise<unknown>> {
  const table = family === 'ipv4' ? 'ip' : 'ip6';
  await net.nft(
    a.hostNs,
    `table ${table} lab_family_partition {
      chain input { type filter hook input priority 0; ${table} saddr ${other} drop; }
      chain output { type filter hook output priority 0; ${table} daddr ${other} drop; }
      chain forward { type filter hook forward priority 0; ${table} saddr ${other} drop; ${table} daddr ${other} drop; }
    }`,
  );
  return () => net.exec(a.hostNs, ['nft', 'delete', 'table', table, 'lab_family_partition']).catch(() => undefined);
}
