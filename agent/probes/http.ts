// HTTP(S) probe: one GET on a fresh connection, timed per phase from socket events. I/O only
// records timestamps; phases.ts turns them into durations. Never throws.

import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { VERSION } from '../../lib/version.js';
import { classifyError, classifyStatus } from './classify.js';
import { phaseDurations, type PhaseStamps } from './phases.js';
import type { ResultClass } from '../../report/schema.js';
import type { ProbeLimits, ProbeOutcome } from './probe.js';

export interface HttpProbeOptions extends ProbeLimits {
  /** https: the CA certificates (PEM) to verify the server against; null: not verified; absent: the system's CAs. */
  readonly ca?: string | null;
  /** Connect over this IP family only (the host name resolved to its addresses of that family); absent: any. */
  readonly family?: 4 | 6;
}

/** timeoutMs bounds the whole probe, body included; the signal cuts it earlier, which reads as a timeout. */
export function probeHttp(url: string, { timeoutMs, signal, ca, family }: HttpProbeOptions): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const now = (): number => performance.now();
    const stamps: PhaseStamps = { start: now(), done: 0 };
    let httpCode = 0;
    let settled = false;
    const settle = (result: ResultClass, error?: string): void => {
      if (settled) return;
      settled = true;
      stamps.done = now();
      resolve({ url, result, httpCode, phasesMs: phaseDurations(stamps), ...(error === undefined ? {} : { error }) });
    };
    const timeout = AbortSignal.timeout(Math.ceil(timeoutMs));
    const fail = (err: unknown): void =>
      timeout.aborted
        ? settle('timeout', `no answer within ${timeoutMs} ms`)
        : signal?.aborted
          ? settle('timeout', "no answer before the round's deadline")
          : settle(classifyError(err), err instanceof Error ? err.message : String(err));

    let target: URL;
    try {
      target = new URL(url);
    } catch (err) {
      fail(err);
      return;
    }
    // agent: false gives every probe its own TCP (and TLS) handshake, which is what we measure.
    const req = (target.protocol === 'https:' ? https : http).request(target, {
      agent: false,
      signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
      headers: { 'user-agent': `netchecker-agent/${VERSION}`, connection: 'close' },
      ...(ca === undefined ? {} : ca === null ? { rejectUnauthorized: false } : { ca }),
      ...(family === undefined ? {} : { family }),
    });
    req.once('socket', (socket) => {
      socket.once('lookup', () => (stamps.lookup = now()));
      socket.once('connect', () => (stamps.connect = now()));
      socket.once('secureConnect', () => (stamps.secureConnect = now()));
    });
    req.once('response', (res) => {
      stamps.response = now();
      httpCode = res.statusCode ?? 0;
      res.once('end', () => {
        stamps.bodyEnd = now();
        settle(classifyStatus(httpCode));
      });
      res.on('error', fail);
      res.once('close', () => fail(Object.assign(new Error('response closed before its end'), { code: 'ECONNRESET' })));
      res.resume();
    });
    req.on('error', fail);
    req.end();
  });
}
