// Bench-only instrumentation, preloaded into the exporter process (`node --import`), so the
// exporter's hot path stays as shipped: the server-side time of every HTTP request (from the
// 'request' event, headers parsed, to the response's 'finish', body read and answer handed to the
// kernel) and the event-loop delay (perf_hooks, 1 ms timer; the figures are the delay beyond it).
// SIGUSR2 writes the figures since the previous SIGUSR2 to $NETCHECKER_BENCH_TIMING and starts over.

import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { type HistogramSnapshot, LatencyHistogram } from './histogram.js';

export interface TimingSnapshot {
  readonly requests: HistogramSnapshot;
  /** Event-loop delay beyond the 1 ms timer, ms. */
  readonly eventLoop: { readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number };
}

const RESOLUTION_MS = 1;
const file = process.env.NETCHECKER_BENCH_TIMING;
if (file) {
  const requests = new LatencyHistogram();
  const loop = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  loop.enable();
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with Reflect.apply and the server as this
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function (this: http.Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'request') {
      const t0 = performance.now();
      (args[1] as http.ServerResponse).once('finish', () => requests.record(performance.now() - t0));
    }
    return Reflect.apply(emit, this, [event, ...args]) as boolean;
  } as typeof emit;
  const beyond = (ns: number): number => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  process.on('SIGUSR2', () => {
    const snapshot: TimingSnapshot = {
      requests: requests.snapshot(),
      eventLoop: { p50Ms: beyond(loop.percentile(50)), p99Ms: beyond(loop.percentile(99)), maxMs: beyond(loop.max) },
    };
    writeFileSync(file, JSON.stringify(snapshot));
    requests.reset();
    loop.reset();
  });
}
