// Delivers one report: POST on a fresh connection, retried with exponential backoff and full
// jitter while there is time before the next scheduled report, so rounds never overlap. The body
// is built per attempt, so a retry carries the time it is sent (hostdate), not the first try's.

import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { classifyError } from './probes/classify.js';
import type { ResultClass } from '../report/schema.js';
import { sleep } from './sleep.js';

const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 10_000;
/** No retry is started with less time than this left before the deadline. */
const MIN_ATTEMPT_MS = 100;

export type SendResult =
  | { ok: true; status: number; attempts: number }
  | { ok: false; status: number | null; error: ResultClass; detail: string; attempts: number };

export interface SendOptions {
  /** Limit per attempt. */
  timeoutMs: number;
  /** Monotonic ms (performance.now()) of the next report slot: no attempt runs past it. */
  deadlineMs: number;
  /** Shutdown: the attempt in flight finishes, no new one starts. */
  stop?: AbortSignal;
  /** Jitter source, for tests. */
  random?: () => number;
  /** Sent as Authorization: Bearer (--token-file); null or absent: no header. */
  token?: string | null;
}

type Attempt = { status: number } | { error: ResultClass; detail: string };

/** Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))). attempt counts from 1. */
export function backoffMs(attempt: number, random: () => number): number {
  return random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
}

/** 5xx and 429 may pass on retry; other 4xx mean the report itself is refused. */
const retryable = (a: Attempt): boolean => !('status' in a) || a.status >= 500 || a.status === 429;

/** `body` is called once per attempt. */
export async function sendReport(url: string, body: () => string, opts: SendOptions): Promise<SendResult> {
  const now = (): number => performance.now();
  const random = opts.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    const left = opts.deadlineMs - now();
    const a = await postOnce(url, body(), Math.min(opts.timeoutMs, Math.max(left, MIN_ATTEMPT_MS)), opts.token ?? null);
    if ('status' in a && a.status >= 200 && a.status < 300) return { ok: true, status: a.status, attempts: attempt };
    const wait = backoffMs(attempt, random);
    if (!retryable(a) || now() + wait + MIN_ATTEMPT_MS > opts.deadlineMs) return failure(a, attempt);
    await sleep(wait, opts.stop);
    if (opts.stop?.aborted) return failure(a, attempt);
  }
}

function failure(a: Attempt, attempts: number): SendResult {
  return 'status' in a
    ? { ok: false, status: a.status, error: 'http_error', detail: `HTTP ${a.status}`, attempts }
    : { ok: false, status: null, error: a.error, detail: a.detail, attempts };
}

function postOnce(url: string, body: string, timeoutMs: number, token: string | null): Promise<Attempt> {
  return new Promise((resolve) => {
    const timeout = AbortSignal.timeout(Math.ceil(timeoutMs));
    const fail = (err: unknown): void =>
      resolve(
        timeout.aborted
          ? { error: 'timeout', detail: `no answer within ${timeoutMs} ms` }
          : { error: classifyError(err), detail: err instanceof Error ? err.message : String(err) },
      );
    const req = (url.startsWith('https:') ? https : http).request(url, {
      method: 'POST',
      agent: false,
      signal: timeout,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        connection: 'close',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    });
    req.once('response', (res) => {
      const status = res.statusCode ?? 0;
      res.once('end', () => resolve({ status }));
      res.on('error', fail);
      res.resume();
    });
    req.on('error', fail);
    req.end(body);
  });
}
