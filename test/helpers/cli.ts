// Runs the built CLI (dist/cli.js) as a user would: a separate node process.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

function requireBuild(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" (test/run.sh does)`);
}

/**
 * Runs the CLI to its end (asynchronously: the test may serve the exporter it talks to). The
 * 120 s bound only catches a CLI that hangs: on a busy 2-core machine loading the Kubernetes
 * client alone took over 30 s.
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  requireBuild();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { encoding: 'utf8', env: { PATH: process.env.PATH, ...env }, timeout: 120_000 },
      (err, stdout, stderr) => {
        resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
      },
    );
  });
}

export interface Spawned {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the first match of re in stdout+stderr, or rejects after timeoutMs (default 60 s: only a hang; see runCli). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited(): Promise<number | null>;
}

/** Starts the CLI in the background; killed when the test ends if still running. */
export function spawnCli(t: Test, args: string[], env: NodeJS.ProcessEnv = {}): Spawned {
  requireBuild();
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const s: Spawned = {
    child,
    stdout: '',
    stderr: '',
    waitFor(re, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const m = (s.stdout + s.stderr).match(re);
          if (m) {
            clearInterval(timer);
            clearTimeout(limit);
            resolve(m);
          }
          return m !== null;
        };
        const timer = setInterval(check, 50);
        const limit = setTimeout(() => {
          clearInterval(timer);
          reject(new Error(`timed out waiting for ${re} in output:\n${s.stdout}\n${s.stderr}`));
        }, timeoutMs);
        check();
      });
    },
    exited: () => exit,
  };
  child.stdout.setEncoding('utf8').on('data', (c: string) => (s.stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (s.stderr += c));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return s;
}

/** Polls fn until it returns a value that is not undefined, or fails after timeoutMs. */
export async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
