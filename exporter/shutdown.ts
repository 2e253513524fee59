// Graceful shutdown of the exporter. On SIGTERM (or SIGINT) readiness fails at once, so the
// endpoints controller, kube-proxy and load balancers stop sending new connections; the server
// keeps answering for the drain delay while they catch up (every answer says Connection: close,
// so keep-alive clients reconnect, to another replica if there is one); then the listener
// closes, requests in flight finish, and the store and discovery close. A hard deadline (drain
// delay + 10 s) exits non-zero with a log line if anything hangs; a second signal exits at once.
// Signal handlers stay installed until the end: as PID 1 (a container without an init) a signal
// without a handler is ignored by the kernel, not fatal.

import type { Server } from 'node:http';
import type { Logger } from '../lib/log.js';

/** Time after the drain delay for closing: requests in flight, the store, discovery. */
export const CLOSE_DEADLINE_MS = 10_000;
const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** What the shutdown drives: RunningExporter. */
export interface Drainable {
  /** Readiness off, Connection: close on every answer from now on; the listener stays open. */
  drain(): void;
  /** Stops listening, waits for requests in flight, closes the store and discovery. */
  close(): Promise<void>;
}

export interface ShutdownOptions {
  readonly delayMs: number;
  readonly log: Logger;
  /** process.exit, for the deadline and the second signal. */
  readonly exit: (code: number) => void;
  /** Where signals come from: process. */
  readonly signals: Pick<NodeJS.Process, 'on'>;
}

/** Waits for SIGTERM/SIGINT, then drains and closes; resolves with the exit code (0). */
export async function serveUntilSignal(target: Drainable, o: ShutdownOptions): Promise<number> {
  let received: string | null = null;
  let wake: () => void = () => {};
  const first = new Promise<void>((resolve) => (wake = resolve));
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received !== null) {
      o.log.warn('second signal: exiting now', { signal, first: received });
      o.exit(1);
      return;
    }
    received = signal;
    // Synchronously, in the handler: /readyz fails from the next request on.
    target.drain();
    o.log.info('shutting down', {
      signal,
      ready: false,
      drain_delay_seconds: o.delayMs / 1000,
      deadline_seconds: (o.delayMs + CLOSE_DEADLINE_MS) / 1000,
    });
    wake();
  };
  for (const s of SIGNALS) o.signals.on(s, onSignal);
  await first;
  // unref: a clean close lets the process end by itself; the timer only fires if something holds it.
  const deadline = setTimeout(() => {
    o.log.error('shutdown deadline passed: exiting with requests, store or discovery still open', {
      deadline_seconds: (o.delayMs + CLOSE_DEADLINE_MS) / 1000,
    });
    o.exit(1);
  }, o.delayMs + CLOSE_DEADLINE_MS);
  deadline.unref();
  await new Promise((resolve) => setTimeout(resolve, o.delayMs));
  o.log.info('drain delay over: closing');
  await target.close();
  o.log.info('exporter stopped');
  // The handlers stay: a signal during the last moments must not be ignored (PID 1) or restart anything.
  return 0;
}

/** Drain on the HTTP side: every answer from now on closes its connection; idle keep-alive connections close now. */
export function drainConnections(server: Server): void {
  server.prependListener('request', (_req, res) => res.setHeader('Connection', 'close'));
  server.closeIdleConnections();
}

/** Stops listening and resolves once the requests in flight are answered and their connections closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    // A connection whose request was in flight when the drain began may stay open for keep-alive after its answer.
    const idle = setInterval(() => server.closeIdleConnections(), 100);
    server.close(() => {
      clearInterval(idle);
      resolve();
    });
    server.closeIdleConnections();
  });
}
