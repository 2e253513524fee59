// A refused body still gets its answer read: the exporter answers 413 (or 415) before reading a
// large body, then drains the rest for a bounded time and amount before closing (lingering
// close), instead of closing with the body still arriving, which made the kernel reset the
// connection and the sender lose the answer. Raw sockets: exactly what a sender sees.
import { connect } from 'node:net';
import t from 'tap';
import { LINGER } from '../exporter/api/body.js';
import { startTestExporter } from './helpers/exporter.js';

const SIX_MB = 6 * 1024 * 1024;

/** Sends a head and `bodyBytes` of body at once; resolves with what came back and how the connection ended. */
function send(
  url: string,
  head: string,
  bodyBytes: number,
  stallAfter = bodyBytes,
): Promise<{ answer: string; error: string | null; closedMs: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    // Half-open allowed: a sender still writing its body keeps going after the exporter's FIN.
    const socket = connect({ port: Number(port), host: hostname, allowHalfOpen: true });
    let answer = '';
    let error: string | null = null;
    const started = Date.now();
    socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    // A stalled sender learns that the exporter closed only when it writes again (and gets a reset).
    const poke = setInterval(() => stallAfter < bodyBytes && !socket.destroyed && socket.write(' '), 100);
    socket.on('close', () => {
      clearInterval(poke);
      resolve({ answer, error, closedMs: Date.now() - started });
    });
    socket.on('connect', () => {
      socket.write(head);
      socket.write(Buffer.alloc(stallAfter, 0x20));
      if (stallAfter === bodyBytes) socket.end();
    });
  });
}

const head = (bytes: number, type = 'application/json'): string =>
  `POST /api/v1/agents/agent-big HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nContent-Length: ${bytes}\r\n\r\n`;

t.test('a 6 MB body over the limit: the sender reads the 413, no reset', async (t) => {
  const ex = await startTestExporter(t); // --max-body-bytes: 4 MiB by default
  for (let i = 0; i < 3; i++) {
    const r = await send(ex.url, head(SIX_MB), SIX_MB);
    t.match(r.answer, /^HTTP\/1\.1 413 /, `try ${i}: the 413 arrives`);
    t.match(r.answer, /"error":"body_too_large"/);
    t.match(r.answer, /\r\nConnection: close\r\n/i);
    t.equal(r.error, null, `try ${i}: no reset or broken pipe`);
  }
  // Over the limit only as it arrives (no Content-Length): refused mid-body, drained the same way.
  const chunked = `POST /api/v1/agents/agent-big HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${SIX_MB.toString(16)}\r\n`;
  const c = await send(ex.url, chunked, SIX_MB);
  t.match(c.answer, /^HTTP\/1\.1 413 /, 'chunked: the 413 arrives');
  t.equal(c.error, null, 'chunked: no reset');
  const u = await send(ex.url, head(2 * 1024 * 1024, 'multipart/form-data; boundary=x'), 2 * 1024 * 1024);
  t.match(u.answer, /^HTTP\/1\.1 415 /, 'a 415 before a 2 MB body arrives too');
  t.equal(u.error, null);
  t.equal((await fetch(`${ex.url}/api/v1/agents/agent-big`)).status, 404, 'nothing stored');
});

t.test('the drain is bounded in time: a sender that stalls mid-body is closed', async (t) => {
  const ex = await startTestExporter(t);
  const r = await send(ex.url, head(SIX_MB), SIX_MB, 1024 * 1024);
  t.match(r.answer, /^HTTP\/1\.1 413 /, 'the 413 arrives');
  t.ok(r.closedMs >= LINGER.ms - 200 && r.closedMs < LINGER.ms + 5_000, `closed after ${r.closedMs} ms (linger ${LINGER.ms} ms)`);
});

t.test('the drain is bounded in bytes: a sender that never stops is closed', async (t) => {
  const ex = await startTestExporter(t);
  const { hostname, port } = new URL(ex.url);
  const sent = await new Promise<number>((resolve) => {
    const socket = connect({ port: Number(port), host: hostname, allowHalfOpen: true });
    let bytes = 0;
    const chunk = Buffer.alloc(256 * 1024, 0x20);
    const pump = (): void => {
      while (!socket.destroyed && socket.write(chunk)) bytes += chunk.length;
    };
    socket
      .on('drain', pump)
      .on('error', () => undefined)
      .on('close', () => resolve(bytes));
    socket.on('connect', () => {
      socket.write(head(1024 * 1024 * 1024));
      pump();
    });
  });
  t.ok(sent < LINGER.bytes + 4 * 1024 * 1024 + 64 * 1024 * 1024, `closed after ${(sent / 1e6).toFixed(1)} MB sent (a declared 1 GB)`);
});
