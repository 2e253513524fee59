// A delay that ends early, without throwing, when the signal aborts (shutdown).

import { setTimeout as delay } from 'node:timers/promises';

export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return;
  await delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined);
}
