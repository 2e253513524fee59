// One round of every probe in the table (index.ts): all started at once, each bounded by its
// timeout and all cut at the round's deadline (the next slot), then the round's integrity, which
// measures the agent itself during the round (agent/integrity.ts) rather than the network.
// Holds what lasts across rounds: the started probes, the peer list they share, the monitor.

import { performance } from 'node:perf_hooks';
import type { Logger } from '../../lib/log.js';
import { IntegrityMonitor } from '../integrity.js';
import type { HealthSource } from '../listener.js';
import { PROBES, type ProbeName } from './index.js';
import type { ProbeSettings, ProbeStart, RoundFields, RunningProbe } from './probe.js';

export class ProbeRound {
  readonly #timeoutMs: number;
  readonly #integrity: IntegrityMonitor;
  readonly #running: readonly RunningProbe[];

  private constructor(timeoutMs: number, integrity: IntegrityMonitor, running: readonly RunningProbe[]) {
    this.#timeoutMs = timeoutMs;
    this.#integrity = integrity;
    this.#running = running;
  }

  /** Throws when a probe cannot start (the listener's address taken: a startup error, like a bad flag). */
  static async start(config: ProbeSettings, log: Logger, health?: HealthSource): Promise<ProbeRound> {
    const start: ProbeStart = { config, log, assigned: { peers: [], dnsReplicas: [] }, ...(health ? { health } : {}) };
    const integrity = await IntegrityMonitor.start();
    const running: RunningProbe[] = [];
    const on: ProbeName[] = [];
    try {
      for (const [name, row] of Object.entries(PROBES) as Array<[ProbeName, (typeof PROBES)[ProbeName]]>) {
        const probe = await row(start);
        if (!probe) continue;
        running.push(probe);
        on.push(name);
      }
    } catch (e) {
      integrity.stop();
      await Promise.all(running.map(async (p) => p.stop?.()));
      throw e;
    }
    log.debug('probes ready', { probes: on });
    return new ProbeRound(config.timeoutMs, integrity, running);
  }

  /** One round; deadlineMs (monotonic, performance.now()) cuts every probe still running then. */
  async collect(deadlineMs = Infinity): Promise<RoundFields> {
    const cut = new AbortController();
    const timer = Number.isFinite(deadlineMs) ? setTimeout(() => cut.abort(), Math.max(0, deadlineMs - performance.now())) : null;
    try {
      const fields = await Promise.all(this.#running.map((p) => p.round({ timeoutMs: this.#timeoutMs, signal: cut.signal })));
      return Object.assign({ integrity: await this.#integrity.take() }, ...fields) as RoundFields;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    this.#integrity.stop();
    await Promise.all(this.#running.map(async (p) => p.stop?.()));
  }
}
