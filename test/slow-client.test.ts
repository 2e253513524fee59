// Slow clients do not hold the exporter: unfinished headers get a 408 and a closed connection,
// and everyone else is served meanwhile.
import { connect } from 'node:net';
import t from 'tap';
import { TIMEOUTS } from '../exporter/server.js';
import { postReport, report, startTestExporter } from './helpers/exporter.js';

t.test('a client that never finishes its headers gets 408 and is disconnected', async (t) => {
  const ex = await startTestExporter(t);
  const { hostname, port } = new URL(ex.url);
  const socket = connect(Number(port), hostname);
  let answer = '';
  socket.setEncoding('utf8').on('data', (c: string) => (answer += c));
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
  const started = Date.now();
  socket.write('POST /api/v1/agents/slow HTTP/1.1\r\nHost: x\r\n');

  t.equal((await postReport(ex.url, 'agent-a', report())).status, 200, 'others are served meanwhile');
  const at = await closed;
  t.match(answer, /^HTTP\/1\.1 408 /);
  t.ok(at - started >= TIMEOUTS.headersMs - 100 && at - started < TIMEOUTS.headersMs + 5000, `closed after ${at - started} ms`);
  t.equal((await fetch(`${ex.url}/api/v1/agents/slow`)).status, 404, 'nothing stored');
});
