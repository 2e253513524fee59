// GET / and GET /ui/{file}: the status page and its assets (ui/assets.ts), with headers that keep
// a browser from running anything but these files: agent and node names on the page come from
// reports, which --auth none takes from anyone.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Asset } from '../ui/assets.js';
import { sendError } from './errors.js';

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers of every page answer. */
export const PAGE_HEADERS = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
} as const;

/**
 * The page itself is revalidated on every load (an upgraded exporter serves a new one at once);
 * assets are fresh for 5 minutes, then revalidated by ETag.
 */
function send(req: IncomingMessage, res: ServerResponse, a: Asset, cacheControl: string): void {
  const headers = { ...PAGE_HEADERS, 'Cache-Control': cacheControl, ETag: a.etag };
  if (req.headers['if-none-match'] === a.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Type': a.type, 'Content-Length': a.body.length });
  res.end(a.body);
}

export function uiHandlers(assets: { index: Asset; files: ReadonlyMap<string, Asset> }) {
  return {
    index: (req: IncomingMessage, res: ServerResponse): void => send(req, res, assets.index, 'no-cache'),
    file: (req: IncomingMessage, res: ServerResponse, name: string): void => {
      const a = assets.files.get(name);
      if (!a) return sendError(res, 'not_found');
      send(req, res, a, 'public, max-age=300');
    },
  };
}
