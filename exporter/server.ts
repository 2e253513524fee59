// The HTTP layer: a table of routes (path -> method -> handler) served by polka. Known path with
// another method: 405 with Allow; unknown path (paths are case-sensitive): 404; any thrown
// error: a logged 500 without details. Server timeouts bound slow clients; one response at a
// time per connection (in-order.ts); requests with more than 100 headers or several
// Authorization headers are refused before any route sees them.

import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import polka from 'polka';
import type { Logger } from '../lib/log.js';
import { sendError } from './api/errors.js';
import type { ErrorCode } from './errors.js';
import { authorizationCount } from './auth/bearer.js';
import { inOrder } from './in-order.js';

export type Handler = (req: IncomingMessage, res: ServerResponse, param: string) => void | Promise<void>;

export interface Route {
  /** polka pattern; a trailing slash is matched too. */
  readonly path: string;
  readonly methods: Readonly<Partial<Record<'GET' | 'POST', Handler>>>;
  /** API routes take no query parameters; /metrics ignores them (scrapers may add some). */
  readonly strictQuery?: boolean;
}

export const TIMEOUTS = {
  headersMs: 10_000,
  requestMs: 30_000,
  keepAliveMs: 5_000,
} as const;

const CLIENT_ERRORS: Record<string, string> = {
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
};

/** Header fields a request may have; Node counts one more, so that a request over it can be told apart. */
export const MAX_HEADERS = 100;

/** Refusals that depend only on the header block. */
function refusal(req: IncomingMessage): ErrorCode | null {
  if (req.rawHeaders.length > 2 * MAX_HEADERS) return 'too_many_headers';
  if (authorizationCount(req.rawHeaders) > 1) return 'repeated_authorization';
  return null;
}

/** polka matches paths case-insensitively; the original server did not: `/API/V1/PING` is a 404. */
function exactPath(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.]/g, '\\.').replace(/:name/, '[^/]+')}/?$`);
}

export function createHttpServer(routes: readonly Route[], log: Logger): Server {
  const server = createServer({
    headersTimeout: TIMEOUTS.headersMs,
    requestTimeout: TIMEOUTS.requestMs,
    keepAliveTimeout: TIMEOUTS.keepAliveMs,
    // How often the two timeouts above are enforced (Node's default is 30 s): a slow client is
    // closed within headersMs + 250 ms, inside the promised headersMs + 1 s even on a busy loop.
    connectionsCheckingInterval: 250,
  });
  server.maxHeadersCount = MAX_HEADERS + 1;
  const app = polka({
    server,
    onNoMatch: (_req, res) => sendError(res, 'not_found'),
    onError: (err, req, res) => {
      log.error('request failed', { method: req.method, path: req.path, error: err instanceof Error ? err.message : String(err) });
      if (!res.headersSent) sendError(res, 'internal');
      else res.destroy();
    },
  });
  for (const route of routes) {
    const allow = [...Object.keys(route.methods), ...(route.methods.GET ? ['HEAD'] : [])].join(', ');
    const exact = exactPath(route.path);
    app.all(route.path, (req, res) => {
      if (!exact.test(req.path)) return sendError(res, 'not_found');
      const method = req.method === 'HEAD' ? 'GET' : (req.method as 'GET' | 'POST');
      const handler = route.methods[method];
      if (!handler) return sendError(res, 'method_not_allowed', undefined, { Allow: allow });
      if (route.strictQuery && req.search) return sendError(res, 'invalid_query');
      return handler(req, res, req.params.name ?? '');
    });
  }
  const order = inOrder((req, res) => {
    const refused = refusal(req);
    if (refused) return sendError(res, refused, undefined, { Connection: 'close' });
    return (app.handler as RequestListener)(req, res);
  });
  server.on('request', order.request);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // Malformed HTTP or a slow client: answer in plain HTTP if the socket can still take it,
    // after the answers to the requests before the bad bytes.
    const status = CLIENT_ERRORS[err.code ?? ''] ?? '400 Bad Request';
    order.onParseError(socket, () => {
      if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      else socket.destroy();
    });
  });
  // Node drops a CONNECT request without a word when nobody listens for it: answer it like any
  // other method no route takes. The socket is ours now: read to the client's end so it closes.
  server.on('connect', (_req: unknown, socket: Duplex) => {
    socket.on('error', () => socket.destroy()).resume();
    socket.end('HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  return server;
}
