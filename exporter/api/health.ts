// Liveness, readiness and the agents' path check.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Discovery } from '../discovery/discovery.js';
import type { Store } from '../store/store.js';
import { sendText } from './respond.js';

/** GET /api/v1/ping: what agents probe to check their path to the exporter. Empty 200, as the original. */
export function ping(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'Content-Length': 0 });
  res.end();
}

/** GET /healthz: the process serves requests. */
export function healthz(_req: IncomingMessage, res: ServerResponse): void {
  sendText(res, 200, 'ok\n');
}

/**
 * GET /readyz: the store and discovery can be used; otherwise 503 naming what is not ready.
 * From the shutdown signal on, 503 "shutting down" whatever else holds (exporter/shutdown.ts).
 */
export function readyz(store: Store, discovery: Discovery, draining: () => boolean = () => false) {
  return (_req: IncomingMessage, res: ServerResponse): void => {
    if (draining()) return sendText(res, 503, 'not ready: shutting down\n');
    const waiting = [store.ready() ? '' : 'store', discovery.ready() ? '' : 'discovery'].filter(Boolean);
    if (waiting.length === 0) sendText(res, 200, 'ready\n');
    else sendText(res, 503, `not ready: ${waiting.join(', ')}\n`);
  };
}
