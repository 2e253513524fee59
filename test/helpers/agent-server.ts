// A loopback stand-in for the exporter: answers /api/v1/ping, records each report POST with its
// monotonic arrival time, and serves the peer lists tests give. Tests choose the status (and
// delay) per report.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface Arrival {
  atMs: number;
  path: string;
  body: string;
}

export interface FakeExporter {
  url: string;
  reports: Arrival[];
  /** Set when the last report response has been fully written. */
  lastRespondedAtMs: number | null;
  close(): Promise<void>;
}

export interface FakeExporterOptions {
  /** Status for the report with this 0-based index; default 200. */
  status?: (index: number) => number;
  /** Delay before answering the report with this index; default 0. */
  delayMs?: (index: number) => number;
  /** Called when a report arrives. */
  onReport?: (index: number) => void;
  /** The body of the answer to the index-th GET /api/v1/peers/{name}; undefined: 503. Default: 404. */
  peers?: (index: number, name: string) => unknown;
}

export async function startFakeExporter(opts: FakeExporterOptions = {}): Promise<FakeExporter> {
  const fake: FakeExporter = {
    url: '',
    reports: [],
    lastRespondedAtMs: null,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  let peerFetches = 0;
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/api/v1/ping') return void res.end();
    if (req.method === 'GET' && opts.peers && req.url?.startsWith('/api/v1/peers/')) {
      const body = opts.peers(peerFetches++, req.url.slice('/api/v1/peers/'.length));
      res.writeHead(body === undefined ? 503 : 200, { 'content-type': 'application/json' });
      return void res.end(body === undefined ? undefined : JSON.stringify(body));
    }
    if (req.method !== 'POST' || !req.url?.startsWith('/api/v1/agents/')) {
      res.statusCode = 404;
      return void res.end();
    }
    const atMs = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const index = fake.reports.push({ atMs, path: req.url as string, body: Buffer.concat(chunks).toString('utf8') }) - 1;
      opts.onReport?.(index);
      setTimeout(
        () => {
          res.statusCode = opts.status?.(index) ?? 200;
          res.end(() => (fake.lastRespondedAtMs = performance.now()));
        },
        opts.delayMs?.(index) ?? 0,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
