// Slow and oversize clients (issue 8, item 4) against one in-process exporter, all at once:
// 500 slowloris connections (a partial request line or header, then one more byte every second)
// are each closed with 408 within twice the header timeout (a client that trickles a byte a second
// is never done by itself, so any bound proves the timeout closed it; the exporter shares this
// process's loop with the 500 clients, and on a busy 2-core machine the close came up to 3 s
// after the timeout, so the margin is the timeout itself, not a quiet machine's 1 s); over-limit
// bodies get 413 once the exporter has read at most the limit + 64 KiB; meanwhile 50 agents
// reporting every 200 ms succeed at least 99% of the time.
// Times are taken from the client's 'connect' and 'close' events (no polling); the exporter
// starts its clock when it accepts, later than 'connect', so the measured time is an upper bound.
// File descriptors: each connection is two fds here (client and server side), ~1,150 in all; Node
// raises the soft RLIMIT_NOFILE to the hard limit at start, and the test fails, naming the limit,
// when that is still too low.
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import t from 'tap';
import { parseExporterConfig } from '../exporter/config.js';
import { TIMEOUTS } from '../exporter/server.js';
import { report, startTestExporter } from './helpers/exporter.js';

const SLOW_CLIENTS = 500;
const AGENTS = 50;
const AGENT_EVERY_MS = 200;
/** The body limit an exporter with the default (memory) store has. */
const LIMIT_BYTES = ((): number => {
  const parsed = parseExporterConfig([]);
  if (!parsed.ok || parsed.help) throw new Error('the default exporter config does not parse');
  return parsed.config.maxBodyBytes;
})();
const READ_ALLOWANCE = 64 * 1024;
const CHUNK = Buffer.alloc(16 * 1024, 0x20); // JSON whitespace

/** Partial requests that stay valid however many 'a's follow. */
const SLOW_STARTS = [
  'GET /api/v1/agents/slow',
  'POST /api/v1/agents/slow HTTP/1.1\r\nHost: x\r\nX-Slow: ',
  'POST /api/v1/agents/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nX-',
];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

function fdLimit(): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return m?.[1] === undefined || m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

/** One slowloris connection: `done` resolves when the exporter closes it, with the time and what it said. */
function slowloris(port: number, start: string): { connected: Promise<unknown>; done: Promise<{ heldMs: number; answer: string }> } {
  const socket = connect(port, '127.0.0.1');
  const connected = new Promise((r) => socket.once('connect', r).once('close', r));
  const done = new Promise<{ heldMs: number; answer: string }>((resolve) => {
    let answer = '';
    let connectedAt = 0;
    let trickle: NodeJS.Timeout | undefined;
    socket.setEncoding('utf8').on('data', (c: string) => (answer += c));
    socket.on('error', () => undefined); // a reset is a close too
    socket.on('connect', () => {
      connectedAt = performance.now();
      socket.write(start);
      trickle = setInterval(() => socket.writable && socket.write('a'), 1000);
    });
    socket.on('close', () => {
      clearInterval(trickle);
      resolve({ heldMs: performance.now() - connectedAt, answer });
    });
  });
  return { connected, done };
}

/**
 * An over-limit POST: head, then 16 KiB body chunks, each written only after the exporter (same
 * event loop) had a turn to read the last, until its answer arrives or it closes. Returns the body
 * bytes the socket accepted before that and the answer.
 */
async function oversize(port: number, name: string, framing: 'declared' | 'chunked'): Promise<{ bodyBytes: number; answer: string }> {
  const socket: Socket = connect(port, '127.0.0.1');
  let answer = '';
  let closed = false;
  socket.setEncoding('utf8').on('data', (c: string) => (answer += c));
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  await new Promise((r) => socket.once('connect', r));
  const length = framing === 'declared' ? `Content-Length: ${LIMIT_BYTES + 1}` : 'Transfer-Encoding: chunked';
  socket.write(`POST /api/v1/agents/${name} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${length}\r\n\r\n`);
  let bodyBytes = 0;
  while (!answer && !closed && bodyBytes <= 2 * LIMIT_BYTES) {
    const data =
      framing === 'chunked' ? Buffer.concat([Buffer.from(`${CHUNK.length.toString(16)}\r\n`), CHUNK, Buffer.from('\r\n')]) : CHUNK;
    if (!(await new Promise<boolean>((r) => socket.write(data, (e) => r(!e))))) break;
    bodyBytes += CHUNK.length;
    for (let i = 0; i < 3; i++) await nextTurn();
  }
  for (let waited = 0; !answer.includes('\r\n\r\n') && !closed && waited < 5000; waited += 10) await sleep(10);
  socket.destroy();
  return { bodyBytes, answer };
}

/** Agents reporting every AGENT_EVERY_MS until stopped; resolves with the outcome of every report. */
function agents(url: string, stop: () => boolean): Promise<{ ok: number; failed: string[] }> {
  const failed: string[] = [];
  let ok = 0;
  const one = async (name: string): Promise<void> => {
    while (!stop()) {
      const next = sleep(AGENT_EVERY_MS);
      try {
        const res = await fetch(`${url}/api/v1/agents/${name}`, {
          method: 'POST',
          body: report({ podname: name }),
          headers: { 'Content-Type': 'application/json' },
          signal: AbortSignal.timeout(TIMEOUTS.headersMs),
        });
        await res.arrayBuffer();
        if (res.status === 200) ok++;
        else failed.push(`${name}: ${res.status}`);
      } catch (e) {
        failed.push(`${name}: ${(e as Error).message}`);
      }
      await next;
    }
  };
  return Promise.all(Array.from({ length: AGENTS }, (_, i) => one(`agent-${i}`))).then(() => ({ ok, failed }));
}

t.test(`${SLOW_CLIENTS} slowloris connections and over-limit bodies while ${AGENTS} agents report`, async (t) => {
  const needed = 2 * (SLOW_CLIENTS + AGENTS) + 100;
  if (fdLimit() < needed) {
    t.fail(`open-file limit ${fdLimit()} is below the ${needed} this test needs: raise the hard limit (ulimit -Hn)`);
    return;
  }
  t.comment(`open-file limit ${fdLimit()}, needed about ${needed}; body limit ${LIMIT_BYTES} bytes`);
  const ex = await startTestExporter(t);
  const port = Number(new URL(ex.url).port);

  let attackOver = false;
  const reporting = agents(ex.url, () => attackOver);
  await sleep(500); // agents first, so that the attack meets a serving exporter
  const slow: Array<ReturnType<typeof slowloris>> = [];
  for (let i = 0; i < SLOW_CLIENTS; i++) {
    slow.push(slowloris(port, SLOW_STARTS[i % SLOW_STARTS.length] as string));
    if (i % 50 === 49) await nextTurn();
  }
  // Over-limit bodies once the exporter has accepted the slow connections: a connection still in
  // the kernel's accept queue takes megabytes the exporter has not seen, which is no measure.
  await Promise.all(slow.map((s) => s.connected));
  await sleep(200);
  const big: Array<{ framing: string; bodyBytes: number; answer: string }> = [];
  for (let i = 0; i < 6; i++) {
    const framing = i % 2 ? 'chunked' : 'declared';
    big.push({ framing, ...(await oversize(port, `big-${i}`, framing)) });
  }
  const held = await Promise.all(slow.map((s) => s.done));
  attackOver = true;
  const { ok, failed } = await reporting;

  const limitMs = 2 * TIMEOUTS.headersMs;
  const late = held.filter((h) => h.heldMs > limitMs);
  const no408 = held.filter((h) => !/^HTTP\/1\.1 408 /.test(h.answer));
  const times = held.map((h) => h.heldMs).sort((a, b) => a - b);
  t.comment(`slowloris held ${Math.round(times[0] ?? 0)}..${Math.round(times.at(-1) ?? 0)} ms (header timeout ${TIMEOUTS.headersMs} ms)`);
  t.equal(late.length, 0, `every slowloris connection closed within ${limitMs} ms (slowest ${Math.round(times.at(-1) ?? 0)} ms)`);
  t.equal(no408.length, 0, 'every one was answered 408 first');

  for (const b of big) {
    t.match(
      b.answer,
      /^HTTP\/1\.1 413 [^]*"error":"body_too_large"/,
      `${b.framing} over-limit body: 413 (got ${JSON.stringify(b.answer.slice(0, 60))})`,
    );
    t.ok(
      b.bodyBytes <= LIMIT_BYTES + READ_ALLOWANCE,
      `${b.framing}: answered after ${b.bodyBytes} body bytes (limit ${LIMIT_BYTES} + ${READ_ALLOWANCE})`,
    );
  }

  const total = ok + failed.length;
  t.comment(`agents: ${ok} of ${total} reports succeeded${failed.length ? `; failures: ${failed.slice(0, 5).join('; ')}` : ''}`);
  t.ok(total >= AGENTS * 40, `${total} reports sent during the attack`);
  t.ok(ok >= 0.99 * total, `at least 99% of agent reports succeeded (${ok}/${total})`);

  t.equal((await fetch(`${ex.url}/healthz`)).status, 200, 'still healthy');
  const stored = Object.keys((await (await fetch(`${ex.url}/api/v1/agents/`)).json()) as Record<string, unknown>).sort();
  t.same(
    stored,
    Array.from({ length: AGENTS }, (_, i) => `agent-${i}`).sort(),
    'only the agents are stored: nothing from slow or oversize clients',
  );
});
