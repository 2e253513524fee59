// The tiny HTTP listener that peers probe (--listen): GET / answers 200 with a short body, so a
// peer measures TCP connect and one HTTP round trip to this agent. Nothing else is served.

import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Listener {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

export async function startListener(host: string, port: number): Promise<Listener> {
  const server = http.createServer({ headersTimeout: 5000, requestTimeout: 5000, keepAliveTimeout: 1000 }, (req, res) => {
    const ok = (req.method === 'GET' || req.method === 'HEAD') && req.url === '/';
    res.writeHead(ok ? 200 : 404, { 'Content-Type': 'text/plain', 'Content-Length': ok ? 3 : 0 });
    res.end(ok ? 'ok\n' : undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`cannot listen on ${host}:${port}: ${e.code ?? e.message}`)));
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
