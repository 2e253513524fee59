// Simulated agents for the SLO, soak and rollout runs: each agent reports on its own fixed-rate
// schedule (slot k at its start + k x interval, as agent/loop.ts), the first slot at a random
// offset within the interval so the agents are staggered (or at once: a pod that just started).
// A fresh connection per report as the real agent sends them, or keep-alive. With `retry`, a
// failed send is retried with the agent's own backoff (agent/send.ts) until the next slot, as the
// real agent does; without it every failure counts. Stopping an agent lets its report in flight
// finish, as SIGTERM does. wrk cannot pace each agent on its own schedule, hence this.

import http from 'node:http';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { backoffMs } from '../agent/send.js';
import { LatencyHistogram } from './histogram.js';

export interface LoadOptions {
  /** Base URL of the exporter. */
  readonly url: string;
  readonly intervalMs: number;
  readonly keepAlive: boolean;
  readonly retry: boolean;
  /** Limit per attempt. */
  readonly timeoutMs: number;
  /** The body of an agent's n-th report (n from 1). */
  readonly body: (name: string, n: number) => string;
}

export interface LoadStats {
  /** Reports that got 200 (after retries, if any). */
  ok: number;
  /** Reports that never got a 200 before their next slot. */
  lost: number;
  /** Attempts that failed, by HTTP status or error code. */
  failures: Record<string, number>;
  /** Slots skipped because the previous report was still running. */
  overruns: number;
}

interface Sim {
  readonly name: string;
  readonly startMs: number;
  n: number;
  timer: NodeJS.Timeout | null;
  stopped: boolean;
  inFlight: Promise<void> | null;
}

export class AgentLoad {
  readonly #o: LoadOptions;
  readonly #http: http.Agent | false;
  readonly #sims = new Map<string, Sim>();
  readonly stats: LoadStats = { ok: 0, lost: 0, failures: {}, overruns: 0 };
  /** Client-side time of each successful attempt, ms. */
  readonly latency = new LatencyHistogram();

  constructor(options: LoadOptions) {
    this.#o = options;
    this.#http = options.keepAlive ? new http.Agent({ keepAlive: true, maxSockets: Infinity }) : false;
  }

  /** Starts an agent: first report after a random offset within one interval, or at once. */
  start(name: string, at: 'staggered' | 'now' = 'staggered'): void {
    if (this.#sims.has(name)) return;
    const offset = at === 'now' ? 0 : Math.random() * this.#o.intervalMs;
    const sim: Sim = { name, startMs: performance.now() + offset, n: 0, timer: null, stopped: false, inFlight: null };
    this.#sims.set(name, sim);
    sim.timer = setTimeout(() => this.#slot(sim, 0), offset);
  }

  /** Stops an agent (SIGTERM): no new report; resolves when the one in flight is done. */
  async stop(name: string): Promise<void> {
    const sim = this.#sims.get(name);
    if (!sim) return;
    this.#sims.delete(name);
    sim.stopped = true;
    if (sim.timer) clearTimeout(sim.timer);
    await sim.inFlight;
  }

  names(): string[] {
    return [...this.#sims.keys()];
  }

  async close(): Promise<void> {
    await Promise.all(this.names().map((n) => this.stop(n)));
    if (this.#http) this.#http.destroy();
  }

  #slot(sim: Sim, k: number): void {
    if (sim.stopped) return;
    const deadlineMs = sim.startMs + (k + 1) * this.#o.intervalMs;
    if (sim.inFlight) this.stats.overruns++;
    else {
      sim.inFlight = this.#report(sim, deadlineMs).finally(() => (sim.inFlight = null));
    }
    sim.timer = setTimeout(() => this.#slot(sim, k + 1), Math.max(0, deadlineMs - performance.now()));
  }

  async #report(sim: Sim, deadlineMs: number): Promise<void> {
    const body = this.#o.body(sim.name, ++sim.n);
    for (let attempt = 1; ; attempt++) {
      const t0 = performance.now();
      const outcome = await this.#post(sim.name, body);
      if (outcome === 200) {
        this.latency.record(performance.now() - t0);
        this.stats.ok++;
        return;
      }
      this.stats.failures[outcome] = (this.stats.failures[outcome] ?? 0) + 1;
      const wait = backoffMs(attempt, Math.random);
      if (!this.#o.retry || sim.stopped || performance.now() + wait + 100 > deadlineMs) {
        this.stats.lost++;
        return;
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** One POST: the status, or the error code when there was no answer. */
  #post(name: string, body: string): Promise<number | string> {
    return this.#http ? this.#postKeepAlive(name, body) : this.#postFresh(name, body);
  }

  /**
   * A fresh connection per report, written as raw bytes as wrk does: http.request's per-request
   * machinery would make the generator, not the exporter, the bottleneck at 1,000 reports/s.
   */
  #postFresh(name: string, body: string): Promise<number | string> {
    const url = new URL(this.#o.url);
    return new Promise((resolve) => {
      let head = '';
      let done = false;
      const finish = (v: number | string): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(v);
      };
      const socket = connect(Number(url.port), url.hostname);
      const timer = setTimeout(() => finish('timeout'), this.#o.timeoutMs);
      socket.setEncoding('latin1');
      socket.once('connect', () =>
        socket.write(
          `POST /api/v1/agents/${name} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        ),
      );
      socket.on('data', (chunk: string) => {
        head += chunk;
        const end = head.indexOf('\r\n');
        // The status line is all that is needed; Connection: close, so the server ends the socket.
        if (end >= 0) finish(Number(/^HTTP\/1\.1 (\d{3})/.exec(head.slice(0, end))?.[1] ?? 0));
      });
      socket.once('error', (e: NodeJS.ErrnoException) => finish(e.code ?? 'error'));
      socket.once('close', () => finish('closed without an answer'));
    });
  }

  #postKeepAlive(name: string, body: string): Promise<number | string> {
    return new Promise((resolve) => {
      const req = http.request(`${this.#o.url}/api/v1/agents/${name}`, {
        method: 'POST',
        agent: this.#http,
        signal: AbortSignal.timeout(this.#o.timeoutMs),
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      });
      req.once('response', (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
        res.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      });
      req.once('error', (e: NodeJS.ErrnoException) => resolve(e.name === 'AbortError' ? 'timeout' : (e.code ?? 'error')));
      req.end(body);
    });
  }
}
