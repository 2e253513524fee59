// GET /api/v1/status: what the status page shows (status/status.ts), as JSON. The body is built
// once per verdict (and check error), like connectivity_check's, not once per request: a page
// polling from many browsers costs one build per verdict.

import type { ServerResponse } from 'node:http';
import type { Clock } from '../../lib/clock.js';
import type { Discovery } from '../discovery/discovery.js';
import type { DnsReplica } from '../discovery/dns-replicas.js';
import type { Monitor } from '../monitor.js';
import { StatusText, TRANSITIONS_SHOWN } from '../status/status.js';
import type { Store } from '../store/store.js';
import type { Verdict } from '../verdict/verdict.js';
import { checkError } from './check.js';
import { sendText } from './respond.js';

export function statusHandler(
  monitor: Monitor,
  discovery: Discovery,
  store: Pick<Store, 'synced' | 'get'>,
  clock: Clock,
  dnsReplicas: () => readonly DnsReplica[] = () => [],
) {
  const text = new StatusText();
  let cached: { verdict: Verdict; error: string | null; replicas: readonly DnsReplica[]; body: string } | null = null;
  return async (_req: unknown, res: ServerResponse): Promise<void> => {
    const verdict = await monitor.fresh();
    const error = checkError(discovery, store);
    const replicas = dnsReplicas();
    if (cached?.verdict !== verdict || cached.error !== error || cached.replicas !== replicas) {
      const body = text.build({
        verdict,
        record: (name) => store.get(name),
        transitions: monitor.transitions.latest(TRANSITIONS_SHOWN),
        checkError: error,
        nowWallMs: clock.wallMs(),
        dnsReplicas: replicas,
      });
      cached = { verdict, error, replicas, body };
    }
    sendText(res, 200, cached.body, 'application/json', { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  };
}
