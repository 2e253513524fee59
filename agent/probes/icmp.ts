// ICMP echo through the system `ping` (iputils), which works where the agent may send ICMP:
// CAP_NET_RAW (hostNetwork agents, ping's file capability) or net.ipv4.ping_group_range. One
// echo per call, optionally don't-fragment at a given packet size (path MTU). Never throws.

import { execFile } from 'node:child_process';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ResultClass } from '../../report/schema.js';
import type { Outcome, ProbeLimits } from './probe.js';

/** The result classes an echo can have. */
type IcmpResult = Extract<ResultClass, 'ok' | 'timeout' | 'too_big' | 'unavailable' | 'error'>;

export interface IcmpOutcome extends Outcome {
  readonly host: string;
  /** Echo round trip as ping measured it; null without a reply. */
  readonly rttMs: number | null;
}

export interface IcmpProbeOptions extends ProbeLimits {
  /** Whole IP packet size in bytes, sent with don't-fragment; absent: ping's default size. */
  readonly packetBytes?: number;
}

/** IP + ICMP header bytes, which ping's -s payload size leaves out. */
const headerBytes = (host: string): number => (net.isIPv6(host) ? 48 : 28);

/** ping's complaints (stderr) -> result class; first match wins. */
const PING_ERRORS: ReadonlyArray<readonly [RegExp, IcmpResult]> = [
  [/operation not permitted|permission denied|socket:|ENOENT|EACCES|EPERM/i, 'unavailable'],
  [/message too long|frag needed|mtu/i, 'too_big'],
];

/** Reads ping's exit code and output. Pure. */
export function classifyPing(code: number | null, stdout: string, stderr: string): { result: IcmpResult; rttMs: number | null } {
  const rtt = /time[=<]([\d.]+) ms/.exec(stdout);
  if (code === 0 && rtt) return { result: 'ok', rttMs: Number(rtt[1]) };
  for (const [pattern, result] of PING_ERRORS) if (pattern.test(stderr) || pattern.test(stdout)) return { result, rttMs: null };
  // Exit 1 is "no reply"; other exits are ping's own errors (bad address, ...).
  return { result: code === 1 ? 'timeout' : 'error', rttMs: null };
}

export function probeIcmp(host: string, { timeoutMs, packetBytes, signal }: IcmpProbeOptions): Promise<IcmpOutcome> {
  const args = ['-n', '-c', '1', '-W', String(Math.max(0.2, timeoutMs / 1000))];
  if (packetBytes !== undefined) args.push('-M', 'do', '-s', String(Math.max(0, packetBytes - headerBytes(host))));
  args.push(host);
  return new Promise((resolve) => {
    const start = performance.now();
    const done = (code: number | null, stdout: string, stderr: string, spawnError: string): void => {
      // Killed at the round's deadline: no reply in time.
      if (signal?.aborted) return resolve({ host, result: 'timeout', rttMs: null, error: "no reply before the round's deadline" });
      const c = classifyPing(code, stdout, `${stderr}${spawnError}`);
      const error =
        c.result === 'ok' ? undefined : stderr.trim() || spawnError || `no reply within ${Math.round(performance.now() - start)} ms`;
      resolve({ host, ...c, ...(error ? { error } : {}) });
    };
    try {
      execFile(
        'ping',
        args,
        { timeout: Math.ceil(timeoutMs) + 500, ...(signal ? { signal } : {}), encoding: 'utf8' },
        (err, stdout, stderr) =>
          done(
            err === null ? 0 : typeof err.code === 'number' ? err.code : null,
            stdout,
            stderr,
            err !== null && typeof err.code === 'string' ? err.code : '',
          ),
      );
    } catch (e) {
      // spawn itself may throw synchronously (EPERM without the capability to run ping).
      done(null, '', '', (e as NodeJS.ErrnoException).code ?? String(e));
    }
  });
}

export type IcmpCheck = { readonly available: true } | { readonly available: false; readonly error: string };

/**
 * Whether this agent may ping at all: one echo to its own loopback. A ping that ran (a reply, or
 * none in time) says yes; one that could not run or could not send says no, with its error.
 */
export async function checkIcmp(timeoutMs: number): Promise<IcmpCheck> {
  const r = await probeIcmp('127.0.0.1', { timeoutMs });
  return r.result === 'unavailable' || r.result === 'error' ? { available: false, error: r.error ?? r.result } : { available: true };
}
