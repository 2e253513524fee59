// Shared pieces of the benchmarks: child processes, medians, /proc readings, load from wrk.

import { type ChildProcess, spawn, execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export interface Server {
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts a node script that logs a JSON line with `url` once it listens. The 60 s bound only
 * catches a server that never starts: loading the exporter's modules takes well under a second
 * of CPU, but on a busy 2-core machine the process may wait many seconds for it.
 */
export function startServer(args: string[]): Promise<Server> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not say where it listens within 60 s`));
    }, 60_000);
    const lines = createInterface({ input: child.stderr as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      const url = /"url":"([^"]+)"/.exec(line)?.[1];
      if (!url) return;
      clearTimeout(timer);
      resolve({ url, child, stop: () => stop(child) });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}

/**
 * Node flags of the exporter container (deploy/base/exporter.yaml `command`), so the bench measures
 * what runs: a young generation of 2 x 4 MB instead of 2 x 16 MB. Scavenges cost what survives
 * them, not the space, and ingest CPU per report did not move; the exporter's RSS at 10,000
 * agents did, by about 25 MB.
 */
export const EXPORTER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

export function startExporter(flags: string[]): Promise<Server> {
  return startServer([...EXPORTER_NODE_FLAGS, CLI, 'exporter', '--listen', '127.0.0.1:0', ...flags]);
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Resident set size of a process, bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** The fields of a /proc stat file after the command name, which is in parentheses and may hold anything: [0] is the state. */
export function procStatFields(path: string): string[] {
  return readFileSync(path, 'utf8')
    .replace(/^.*\) /s, '')
    .split(' ');
}

/** CPU seconds (user + system) a process has used so far (Linux /proc). */
export function cpuSeconds(pid: number): number {
  const fields = procStatFields(`/proc/${pid}/stat`);
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

export function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd}: ${stderr || err.message}`)) : resolve(stdout),
    );
  });
}

/** Requests/s that wrk measured (its "Requests/sec:" line). */
export function wrkRate(output: string): number {
  const m = /Requests\/sec:\s+([\d.]+)/.exec(output);
  if (!m) throw new Error(`unexpected wrk output:\n${output}`);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  if (errors) throw new Error(`wrk saw ${errors[1]} non-2xx answers:\n${output}`);
  return Number(m[1]);
}

/** Requests wrk completed (its "N requests in" line). */
export function wrkRequests(output: string): number {
  const m = /(\d+) requests in/.exec(output);
  if (!m) throw new Error(`unexpected wrk output:\n${output}`);
  return Number(m[1]);
}

/** How a figure stands against its target, as the tables print it. */
export const met = (ok: boolean): string => (ok ? 'met' : 'MISSED');

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
