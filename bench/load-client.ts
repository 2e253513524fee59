// The harness's side of the load generator process (load-worker.ts): fork it, drive it over IPC.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadWorkerConfig, ToWorker, WorkerStats } from './load-worker.js';

export interface LoadProcess {
  readonly pid: number;
  start(names: string[]): void;
  /** Resolves once the stopped agents' reports in flight are done. */
  stop(names: string[]): Promise<WorkerStats>;
  /** Zeroes the figures (after the warm-up). */
  reset(): Promise<WorkerStats>;
  stats(): Promise<WorkerStats>;
  close(): Promise<void>;
}

export async function forkLoad(config: LoadWorkerConfig): Promise<LoadProcess> {
  const child = fork(fileURLToPath(new URL('./load-worker.js', import.meta.url)), [JSON.stringify(config)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting: Array<(s: WorkerStats) => void> = [];
  child.on('message', (m: { type: string }) => {
    if (m.type === 'stats') waiting.shift()?.(m as WorkerStats);
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`load generator exited with ${code}`)));
  });
  const ask = (m: ToWorker): Promise<WorkerStats> =>
    new Promise((resolve) => {
      waiting.push(resolve);
      child.send(m);
    });
  return {
    pid: child.pid as number,
    start: (names) => void child.send({ type: 'start', names } satisfies ToWorker),
    stop: (names) => ask({ type: 'stop', names }),
    reset: () => ask({ type: 'reset' }),
    stats: () => ask({ type: 'stats' }),
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send({ type: 'close' } satisfies ToWorker);
      }),
  };
}
