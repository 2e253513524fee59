// GET /api/v1/connectivity_check: the compat verdict scripts read (three keys, in order, null on
// pass), followed by our per-agent detail. 200 pass, 400 fail, 500 when nobody can say which
// agents are expected: discovery fails, or the expected set is the store's agents and the store
// has not loaded its state yet (etcd away at start), when "All 0 pods" would pass on no evidence.

import type { ServerResponse } from 'node:http';
import type { Discovery } from '../discovery/discovery.js';
import type { Monitor } from '../monitor.js';
import type { Store } from '../store/store.js';
import { checkBody } from '../verdict/answer.js';
import type { Verdict } from '../verdict/verdict.js';
import { sendText } from './respond.js';

export const ERROR_PREFIX = 'Error occurred while checking the agents. Details:';

export const NOT_LOADED = 'the store has not loaded its state yet, so the agents that must report are unknown';

/** The 500 answer's text when nobody can say which agents are expected; null when the verdict stands. */
export function checkError(discovery: Discovery, store: Pick<Store, 'synced'>): string | null {
  const error = discovery.error();
  if (error !== null) return `${ERROR_PREFIX} ${error}`;
  if (discovery.expected() === null && !store.synced()) return `${ERROR_PREFIX} ${NOT_LOADED}`;
  return null;
}

export function checkHandler(monitor: Monitor, discovery: Discovery, store: Pick<Store, 'synced'>) {
  // The body is built once per verdict, not once per request.
  let cached: { verdict: Verdict; body: string } | null = null;
  return async (_req: unknown, res: ServerResponse): Promise<void> => {
    const verdict = await monitor.fresh();
    const error = checkError(discovery, store);
    if (error !== null) return sendText(res, 500, error);
    if (cached?.verdict !== verdict) cached = { verdict, body: checkBody(verdict) };
    sendText(res, verdict.pass ? 200 : 400, cached.body, 'application/json');
  };
}
