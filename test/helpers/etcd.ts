// Real etcd for tests (Debian etcd-server, binary `etcd`; etcdctl from etcd-client): one member
// or a cluster on free 127.0.0.1 ports with data in a temporary directory. Members can be killed
// and started again on the same data; everything is killed and removed when the test ends.
// Also: exporter processes on it (spawnExporter), agents that keep reporting (startFeeder), and
// TLS certificates made with openssl (makeCerts).

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import type { Test } from 'tap';
import { decodeReport } from '../../report/decode.js';
import { encodeRecord } from '../../exporter/store/record-codec.js';
import { procStatFields } from '../../bench/lib.js';
import { eventually, type Spawned, spawnCli } from './cli.js';
import { freePort } from './ports.js';

export interface EtcdTls {
  /** PEM files: CA that signed the server cert, the server's cert and key, a client cert and key. */
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly dataDir: string;
  /** Output so far (for failure messages). */
  readonly output: () => string;
  running(): boolean;
  kill(): Promise<void>;
  /**
   * Sends a signal, e.g. SIGSTOP to freeze the member (calls to it hang) and SIGCONT to resume it.
   * For those two it resolves once every thread of etcd has stopped or runs again: on a busy
   * machine a stop takes effect only when etcd next gets a CPU, and until then etcd still answers.
   */
  signal(sig: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
}

/** Resolves once every thread of pid is stopped (state T), or once none is; at once if it exited. */
async function threadsStopped(pid: number, stopped: boolean): Promise<void> {
  const settled = (): boolean => {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      return true; // the process exited
    }
    return tids.every((tid) => {
      try {
        return (procStatFields(`/proc/${pid}/task/${tid}/stat`)[0] === 'T') === stopped;
      } catch {
        return true; // that thread ended meanwhile
      }
    });
  };
  await eventually(async () => (settled() ? true : undefined), 30_000, `etcd (pid ${pid}) to ${stopped ? 'stop' : 'continue'}`);
}

export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  readonly endpoints: readonly string[];
  /** Runs etcdctl against the running members; resolves with stdout, rejects on failure. */
  etcdctl(args: string[]): Promise<string>;
  /** Index of the current leader. */
  leader(): Promise<number>;
}

function run(cmd: string, args: string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { PATH: process.env.PATH, ETCDCTL_API: '3' } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`));
        else resolve(stdout);
      },
    );
  });
}

async function requireBinary(name: string, pkg: string): Promise<void> {
  await run('sh', ['-c', `command -v ${name}`]).catch(() => {
    throw new Error(`${name} is not installed: the Debian package ${pkg} is required for this test (test/run.sh installs it as root)`);
  });
}

/** etcd 3.4 refuses to start on arches other than amd64 without this. */
const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x', arm: 'arm' };

export async function startEtcd(t: Test, options: { members?: number; tls?: EtcdTls; args?: string[] } = {}): Promise<EtcdCluster> {
  await requireBinary('etcd', 'etcd-server');
  await requireBinary('etcdctl', 'etcd-client');
  const count = options.members ?? 1;
  const tls = options.tls;
  const scheme = tls ? 'https' : 'http';
  const root = mkdtempSync(join(tmpdir(), `netchecker-etcd-${process.pid}-`));
  const token = `netchecker-test-${process.pid}-${Date.now()}`;
  const specs: Array<{ name: string; client: number; peer: number }> = [];
  for (let i = 0; i < count; i++) specs.push({ name: `m${i}`, client: await freePort(), peer: await freePort() });
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peer}`).join(',');
  const endpoints = specs.map((s) => `${scheme}://127.0.0.1:${s.client}`);
  const tlsArgs = tls ? ['--cacert', tls.ca, '--cert', tls.clientCert, '--key', tls.clientKey] : [];
  const etcdctl = (args: string[]): Promise<string> => {
    const live = members.filter((m) => m.running()).map((m) => m.clientUrl);
    return run('etcdctl', ['--endpoints', live.join(','), '--dial-timeout', '2s', '--command-timeout', '5s', ...tlsArgs, ...args]);
  };

  const members: EtcdMember[] = specs.map((s, i) => {
    const clientUrl = endpoints[i] as string;
    const dataDir = join(root, s.name);
    let child: ChildProcess | null = null;
    let output = '';
    const args = [
      '--name',
      s.name,
      '--data-dir',
      dataDir,
      '--listen-client-urls',
      clientUrl,
      '--advertise-client-urls',
      clientUrl,
      '--listen-peer-urls',
      `http://127.0.0.1:${s.peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${s.peer}`,
      '--initial-cluster',
      initialCluster,
      '--initial-cluster-token',
      token,
      '--initial-cluster-state',
      'new',
      '--logger',
      'zap',
      '--log-level',
      'warn',
      ...(tls ? ['--cert-file', tls.serverCert, '--key-file', tls.serverKey, '--trusted-ca-file', tls.ca, '--client-cert-auth'] : []),
      ...(options.args ?? []),
    ];
    const member: EtcdMember = {
      name: s.name,
      clientUrl,
      dataDir,
      output: () => output,
      running: () => child !== null && child.exitCode === null && child.signalCode === null,
      async start() {
        if (member.running()) return;
        const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
        if (process.arch !== 'x64') env.ETCD_UNSUPPORTED_ARCH = GO_ARCH[process.arch] ?? process.arch;
        child = spawn('etcd', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
        child.stdout?.setEncoding('utf8').on('data', (c: string) => (output += c));
        child.stderr?.setEncoding('utf8').on('data', (c: string) => (output += c));
      },
      async kill() {
        const c = child;
        if (!c || !member.running()) return;
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGKILL');
        await exited;
      },
      async signal(sig) {
        const c = child;
        if (!c?.pid || !member.running()) return;
        c.kill(sig);
        if (sig === 'SIGSTOP' || sig === 'SIGCONT') await threadsStopped(c.pid, sig === 'SIGSTOP');
      },
    };
    return member;
  });

  t.teardown(async () => {
    await Promise.all(members.map((m) => m.kill()));
    rmSync(root, { recursive: true, force: true });
  });

  await Promise.all(members.map((m) => m.start()));
  const cluster: EtcdCluster = {
    members,
    endpoints,
    etcdctl,
    async leader() {
      const status = JSON.parse(await etcdctl(['endpoint', 'status', '-w', 'json'])) as Array<{
        Endpoint: string;
        Status: { header: { member_id: number }; leader: number };
      }>;
      const lead = status.find((s) => s.Status.header.member_id === s.Status.leader);
      if (!lead) throw new Error('no leader');
      return endpoints.indexOf(lead.Endpoint);
    },
  };
  await waitHealthy(cluster);
  return cluster;
}

/** Resolves once every running member answers `endpoint health` (a quorum and a leader). */
export async function waitHealthy(cluster: EtcdCluster, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      await cluster.etcdctl(['endpoint', 'health']);
      return;
    } catch (e) {
      if (Date.now() > end) {
        const logs = cluster.members.map((m) => `--- ${m.name}\n${m.output().slice(-2000)}`).join('\n');
        throw new Error(`etcd did not become healthy in ${timeoutMs} ms: ${(e as Error).message}\n${logs}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Writes CA, server (SAN IP 127.0.0.1) and client certificates with openssl into dir. */
export async function makeCerts(dir: string, { serverSan = 'IP:127.0.0.1', caName = 'netchecker-test-ca' } = {}): Promise<EtcdTls> {
  await requireBinary('openssl', 'openssl');
  const f = (n: string): string => join(dir, n);
  const subj = (cn: string): string[] => ['-subj', `/CN=${cn}`];
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
    ...subj(caName),
  ]);
  for (const [who, san] of [
    ['server', serverSan],
    ['client', 'DNS:netchecker-client'],
  ] as const) {
    await run('openssl', [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      f(`${who}.key`),
      '-out',
      f(`${who}.csr`),
      ...subj(`netchecker-${who}`),
    ]);
    const ext = f(`${who}.ext`);
    await run('sh', ['-c', `printf 'subjectAltName=${san}\\nextendedKeyUsage=serverAuth,clientAuth\\n' > ${ext}`]);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      f(`${who}.csr`),
      '-CA',
      f('ca.crt'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      f(`${who}.crt`),
      '-extfile',
      ext,
    ]);
  }
  return {
    ca: f('ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
  };
}

export interface ExporterProcess {
  readonly url: string;
  readonly spawned: Spawned;
  /** The JSON log lines so far. */
  logs(): Array<Record<string, unknown>>;
  /** SIGKILL, as a crash or a node failure would. */
  kill(): Promise<void>;
}

/** Starts `netchecker exporter` (dist/cli.js) as its own process on a free loopback port. */
export async function spawnExporter(t: Test, args: string[]): Promise<ExporterProcess> {
  const spawned = spawnCli(t, ['exporter', '--listen', '127.0.0.1:0', '--log-level', 'debug', ...args]);
  // A hang catcher, as spawnCli's: an exporter over etcd listens once its first load is done.
  const m = await spawned.waitFor(/"msg":"exporter listening".*?"url":"(http:[^"]+)"/, 60_000);
  return {
    url: m[1] as string,
    spawned,
    logs: () =>
      spawned.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    async kill() {
      if (spawned.child.exitCode !== null || spawned.child.signalCode !== null) return;
      spawned.child.kill('SIGKILL');
      await spawned.exited();
    },
  };
}

/** Options that point an exporter at the cluster. */
export function etcdArgs(cluster: EtcdCluster, prefix: string): string[] {
  return ['--store', 'etcd', '--etcd-endpoints', cluster.endpoints.join(','), '--etcd-prefix', prefix];
}

export interface Feeder {
  /** Every POST's answer so far (status, or 0 when the request itself failed). */
  readonly statuses: number[];
  /** The last sequence number (sent as `uptime`) each agent got a 200 for. */
  readonly acked: Map<string, number>;
  stop(): Promise<void>;
}

/** Posts a report for each (exporter, agent) every periodMs, numbering them in `uptime`. */
export function startFeeder(t: Test, targets: Array<{ url: string; agent: string }>, periodMs: number, intervalSeconds = 1): Feeder {
  const statuses: number[] = [];
  const acked = new Map<string, number>();
  let seq = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const n = ++seq;
      await Promise.all(
        targets.map(async ({ url, agent }) => {
          const body = JSON.stringify({
            report_interval: intervalSeconds,
            nodename: `node-${agent}`,
            podname: agent,
            hostdate: new Date().toISOString(),
            uptime: n,
          });
          const status = await fetch(`${url}/api/v1/agents/${agent}`, {
            method: 'POST',
            body,
            headers: { 'Content-Type': 'application/json' },
            signal: AbortSignal.timeout(10_000),
          })
            .then((r) => r.status)
            .catch(() => 0);
          statuses.push(status);
          if (status === 200) acked.set(agent, n);
        }),
      );
      await new Promise((r) => setTimeout(r, periodMs));
    }
  })();
  const stop = async (): Promise<void> => {
    stopped = true;
    await loop;
  };
  t.teardown(stop);
  return { statuses, acked, stop };
}

/**
 * The etcd value of one of our agents' records as the exporter writes it (record-codec.ts): 10
 * peers, DNS and probe results, about 2.15 KB. Built through the codec, so it is valid by construction.
 */
export function agentValue(name: string, receivedWallMs: number, intervalSeconds = 300): string {
  const n = Number(/(\d+)$/.exec(name)?.[1] ?? 0);
  const ip = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const wire = {
    report_interval: intervalSeconds,
    nodename: `node-${n}`,
    podname: name,
    hostdate: new Date(receivedWallMs).toISOString(),
    uptime: 86_400 + n,
    nslookup: { 'netchecker-service': ['10.96.0.20'] },
    ips: { eth0: [ip(n), `fd00::${n.toString(16)}`], lo: ['127.0.0.1', '::1'] },
    network_probes: ['http://netchecker-service:8081/api/v1/ping', 'http://kubernetes.default.svc:443/healthz'].map((URL) => ({
      URL,
      ConnectionResult: 1,
      HTTPCode: 200,
      Total: 3,
      ContentTransfer: 0,
      TCPConnection: 1,
      DNSLookup: 1,
      Connect: 1,
      ServerProcessing: 1,
      Result: 'ok',
      PhasesMs: { dns: 0.8, connect: 0.4, first_byte: 1.3, transfer: 0.1, total: 2.6 },
    })),
    zero_extender: [],
    network: 'pod',
    agent_version: '1.0.0',
    listen: `${ip(n)}:8082`,
    dns: [{ server: '10.96.0.10', name: 'kubernetes.default.svc.cluster.local', result: 'ok', latency_ms: 1.2 }],
    peers: Array.from({ length: 10 }, (_, i) => ({
      name: `netchecker-agent-${(n + i + 1) % 100_000}`,
      node: `node-${(n + i + 1) % 100_000}`,
      network: 'pod',
      result: 'ok',
      sent: 3,
      lost: 0,
      rtt_ms: 0.7 + i / 10,
    })),
    icmp_available: true,
    path_mtu: { exporter: 1500, peers: 1500 },
    integrity: { event_loop_lag_ms: 1.5, cpu_throttled_ratio: 0, starved: false },
  };
  const report = decodeReport(JSON.stringify(wire));
  if (!report.ok) throw new Error(`agentValue: ${report.detail}`);
  return encodeRecord({ name, report: report.value, receivedMonoMs: 0, receivedWallMs });
}

/**
 * Writes key/value pairs with the etcd3 client in transactions of 100 puts (etcd takes 128 per
 * transaction by default), `parallel` in flight at once: tens of thousands of records in seconds,
 * where one etcdctl process per key would take minutes.
 */
export async function bulkPut(cluster: EtcdCluster, entries: Iterable<[string, string]>, parallel = 8): Promise<void> {
  const client = new Etcd3({ hosts: [...cluster.endpoints] });
  try {
    const it = entries[Symbol.iterator]();
    const worker = async (): Promise<void> => {
      for (;;) {
        const batch: Array<[string, string]> = [];
        for (let e = it.next(); !e.done && batch.push(e.value) < 100; e = it.next());
        if (batch.length === 0) return;
        await client
          .if(batch[0]?.[0] as string, 'Version', '>', -1)
          .then(...batch.map(([k, v]) => client.put(k).value(v)))
          .commit();
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
  } finally {
    client.close();
  }
}
