// The ceiling for ingest: a bare node:http server that reads the whole body and answers 200,
// nothing else. The exporter's reports/s are given as a ratio of this server's, same run, same load.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const server = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(200, { 'Content-Length': 0 });
    res.end();
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stderr.write(
    `${JSON.stringify({ msg: 'ceiling listening', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`,
  );
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
