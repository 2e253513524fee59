// `netchecker local`: the quick start. Runs an exporter and two agents (pod-flavoured and
// host-flavoured) as separate processes on loopback, prints where to look, and stops them all
// on Ctrl-C. An agent that dies is reported and left dead (so a killed agent shows as outdated).

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type Command, runCommand } from '../lib/command.js';
import { FlagError, type FlagSpec, type FlagValues } from '../lib/flags.js';
import { LOG_LEVELS } from '../lib/log.js';
import { LIMITS } from '../report/schema.js';
import { parseListenAddress } from '../report/address.js';

export const localFlags = [
  {
    name: 'listen',
    kind: 'string',
    metavar: 'HOST:PORT',
    default: '127.0.0.1:8081',
    help: 'Exporter address (loopback); port 0 picks a free port.',
  },
  {
    name: 'interval',
    kind: 'number',
    integer: true,
    ...LIMITS.intervalSeconds,
    unit: 'seconds',
    default: 5,
    help: "Agents' report interval.",
  },
  { name: 'log-level', kind: 'string', choices: LOG_LEVELS, default: 'info', help: 'Log level of the exporter and agents.' },
  {
    name: 'dns-server',
    kind: 'string',
    metavar: 'IP[:PORT],...',
    default: '',
    help: "Resolvers the agents probe; without it the agents skip DNS (they never fall back to this machine's resolver).",
  },
  {
    name: 'auth',
    kind: 'string',
    choices: ['token', 'none'],
    default: 'token',
    help: 'token: the exporter takes reports only with a secret generated for this run and given to the agents; none: from anyone.',
  },
] as const satisfies readonly FlagSpec[];

export const localCommand: Command<typeof localFlags, FlagValues<typeof localFlags>> = {
  name: 'netchecker local',
  usage: '[flags]',
  summary: 'Starts an exporter and two agents on loopback; Ctrl-C stops them.',
  flags: localFlags,
  build: (v) => {
    if (!parseListenAddress(v.listen)) throw new FlagError(`--listen must be HOST:PORT, got "${v.listen}"`);
    return v;
  },
};

export const LOCAL_AGENTS = [
  { name: 'netchecker-agent-local', network: 'pod' },
  { name: 'netchecker-agent-hostnet-local', network: 'host' },
] as const;

/** Runs this same CLI (built or from source) as a child process. */
function self(args: string[]): ChildProcess {
  return spawn(process.execPath, [...process.execArgv, process.argv[1] as string, ...args], { stdio: ['ignore', 'inherit', 'pipe'] });
}

export const run = (argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> => runCommand(localCommand, argv, env, withSecret);

async function withSecret(v: FlagValues<typeof localFlags>): Promise<number> {
  // A fresh secret per run, readable by this user only, removed when local stops.
  const secretDir = v.auth === 'token' ? mkdtempSync(join(tmpdir(), 'netchecker-local-')) : null;
  const tokenFile = secretDir && join(secretDir, 'token');
  if (tokenFile) writeFileSync(tokenFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
  try {
    return await runLocal({ listen: v.listen, dnsServer: v['dns-server'], interval: v.interval, logLevel: v['log-level'], tokenFile });
  } finally {
    if (secretDir) rmSync(secretDir, { recursive: true, force: true });
  }
}

interface LocalOptions {
  readonly listen: string;
  readonly dnsServer: string;
  readonly interval: number;
  readonly logLevel: string;
  /** The shared secret's file (--auth token), null with --auth none. */
  readonly tokenFile: string | null;
}

async function runLocal({ listen, dnsServer, interval, logLevel, tokenFile }: LocalOptions): Promise<number> {
  const exporter = self([
    'exporter',
    `--listen=${listen}`,
    `--expect=${LOCAL_AGENTS.map((a) => a.name).join(',')}`,
    `--startup-grace=${2 * interval}`,
    // No Service in front of it: nothing to drain, and a Ctrl-C should not wait 5 s (nor let the
    // exporter call the agents, stopped at the same moment, outdated meanwhile).
    '--shutdown-delay=0',
    `--log-level=${logLevel}`,
    ...(tokenFile ? ['--auth=token', `--auth-token-file=${tokenFile}`] : []),
    // Each resolver is also a DNS replica the agents query directly: the per-replica series on loopback.
    ...(dnsServer ? [`--dns-replicas=${dnsServer}`] : []),
  ]);
  const url = await exporterUrl(exporter);
  if (!url) {
    process.stderr.write('netchecker local: the exporter did not start (see its log above)\n');
    exporter.kill('SIGTERM');
    return 1;
  }
  const agents = LOCAL_AGENTS.map((a) => {
    // Both agents serve a listener on loopback (free ports) and so probe each other as peers;
    // path MTU is off: on loopback it would only measure loopback's 64 KiB.
    const probes = ['--listen=127.0.0.1:0', `--dns-server=${dnsServer}`, '--mtu-sizes='];
    const token = tokenFile ? [`--token-file=${tokenFile}`] : [];
    const child = self([
      'agent',
      `--server=${url}`,
      `--name=${a.name}`,
      `--node=${hostname().toLowerCase()}`,
      `--network=${a.network}`,
      `--interval=${interval}`,
      `--log-level=${logLevel}`,
      ...probes,
      ...token,
    ]);
    child.stderr?.pipe(process.stderr);
    child.on('exit', (code, signal) => process.stderr.write(`netchecker local: agent ${a.name} exited (${signal ?? `code ${code}`})\n`));
    return { ...a, child };
  });
  process.stdout.write(
    [
      `Status page: ${url}/`,
      `netchecker local: exporter ${url} (pid ${exporter.pid})`,
      ...agents.map((a) => `netchecker local: agent ${a.name} (${a.network} network, pid ${a.child.pid})`),
      '',
      'Open:',
      `  ${url}/api/v1/connectivity_check`,
      `  ${url}/metrics`,
      `  ${url}/api/v1/agents/`,
      `Or run: netchecker check --server ${url}`,
      ...(tokenFile ? [`Reports need the secret in ${tokenFile} (another agent: --token-file ${tokenFile}).`] : []),
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
  const reason = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
    exporter.once('exit', () => resolve('exporter exited'));
  });
  const children = [exporter, ...agents.map((a) => a.child)];
  await Promise.all(children.map(stop));
  process.stderr.write(`netchecker local: stopped (${reason})\n`);
  return reason === 'exporter exited' ? 1 : 0;
}

/** Forwards the exporter's log and resolves with its URL from the "exporter listening" line. */
function exporterUrl(exporter: ChildProcess): Promise<string | null> {
  return new Promise((resolve) => {
    const lines = createInterface({ input: exporter.stderr as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      process.stderr.write(`${line}\n`);
      try {
        const entry = JSON.parse(line) as { msg?: unknown; url?: unknown };
        if (entry.msg === 'exporter listening' && typeof entry.url === 'string') resolve(entry.url);
      } catch {
        // not a log line: forwarded as is
      }
    });
    exporter.once('exit', () => resolve(null));
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
