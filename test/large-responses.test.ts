// Large responses cannot be multiplied (issue 18): at 10,000 agents, 1,000 pipelined requests on
// one connection and 60 readers that never read add about one body to the exporter's memory, not
// one body each; beyond --max-large-responses answers are 503 with Retry-After; memory returns
// once they are gone; a reader that does not read is dropped after --write-timeout.
// /metrics and /api/v1/agents/ alike. Memory is the heap plus buffers after a full GC, in this
// process (the exporter runs in it), against a baseline and the body size measured in the same run.
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t, { type Test } from 'tap';
import { MAX_BODIES, SHARE_MS } from '../exporter/api/metrics.js';
import { decodeReport } from '../report/decode.js';
import type { Report } from '../report/schema.js';
import { originalReports, startTestExporter, type TestExporter } from './helpers/exporter.js';
import { countResponses, scrapeHeaders } from './helpers/http-wire.js';

const AGENTS = 10_000;
const STALLED = 60;
const PIPELINED = 1000;
const WRITE_TIMEOUT_S = 10;
const MAX_LARGE = 32;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** Heap and buffers in use after full GCs, in bytes. */
function used(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

async function loaded(t: Test, writeTimeoutS: number): Promise<TestExporter> {
  const ex = await startTestExporter(t, [
    '--write-timeout',
    String(writeTimeoutS),
    '--max-large-responses',
    String(MAX_LARGE),
    '--log-level',
    'warn',
  ]);
  const fixture = originalReports()
    .find((r) => r.kind === 'hostnet')
    ?.body.toString() as string;
  const decoded = decodeReport(fixture);
  if (!decoded.ok) throw new Error('fixture does not decode');
  for (let i = 0; i < AGENTS; i++) {
    // An interval of an hour: no agent changes state (and has its series rendered again) during the test.
    const report: Report = { ...decoded.value, intervalSeconds: 3600, nodeName: `node-${i >> 1}`, podName: `netchecker-agent-${i}` };
    await ex.monitor.ingest(`netchecker-agent-${i}`, report);
  }
  await ex.monitor.fresh(Infinity); // the verdict with every agent in
  ex.monitor.metricsExposition(); // and their series, which follow the verdict once a second, before any baseline
  return ex;
}

/** Reads one whole answer: its size. */
async function bodySize(url: string): Promise<number> {
  const res = await fetch(url);
  return (await res.arrayBuffer()).byteLength;
}

const waitMs = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const path of ['/metrics', '/api/v1/agents/']) {
  t.test(`${path}: ${STALLED} readers that never read`, async (t) => {
    // A write timeout that cannot fire during the burst: on a busy machine starting 60 answers of
    // 10,000 agents takes longer than any fixed timeout would allow. The test drops them itself;
    // the timeout's own drop is the next subtest.
    const ex = await loaded(t, 3600);
    const size = await bodySize(`${ex.url}${path}`);
    await bodySize(`${ex.url}${path}`); // warm: what a scrape leaves behind is in the baseline
    const base = used();
    const rssBase = process.memoryUsage().rss;
    const sentMs = performance.now();
    const stalled = await Promise.all(Array.from({ length: STALLED }, () => scrapeHeaders(ex.url, path)));
    const spanMs = performance.now() - sentMs;
    const statuses = stalled.map((s) => Number(/^HTTP\/1\.1 (\d+)/.exec(s.head)?.[1]));
    const ok = statuses.filter((s) => s === 200).length;
    const refused = stalled.filter((s) => /^HTTP\/1\.1 503 /.test(s.head));
    t.equal(ok + refused.length, STALLED, 'every answer is 200 or 503');
    if (path === '/metrics' && spanMs > SHARE_MS) {
      // Past MAX_BODIES, a scrape shares the newest body only while it is under SHARE_MS old.
      t.comment(`the ${STALLED} answers took ${Math.round(spanMs)} ms, more than the ${SHARE_MS} ms a body is shared: fewer 200s`);
      t.ok(ok >= MAX_BODIES && ok <= MAX_LARGE, `${ok} answers written at once: at least the ${MAX_BODIES} bodies, at most ${MAX_LARGE}`);
    } else {
      t.equal(ok, MAX_LARGE, `${MAX_LARGE} answers are written at once (all ${STALLED} answered in ${Math.round(spanMs)} ms)`);
      t.equal(refused.length, STALLED - MAX_LARGE, 'the rest get 503');
    }
    t.ok(
      refused.every((s) => /\r\nRetry-After: 1\r\n/i.test(s.head)),
      'with Retry-After',
    );
    const during = used() - base;
    t.comment(`${path}: body ${mb(size)}; ${STALLED} stalled readers add ${mb(during)} (RSS ${mb(process.memoryUsage().rss - rssBase)})`);
    t.ok(during < 2 * size, `${STALLED} stalled readers add ${mb(during)}, under two bodies (${mb(2 * size)})`);
    for (const s of stalled) s.socket.destroy();
    await waitMs(100);
    const after = used() - base;
    t.comment(`${path}: after they are gone: ${mb(after)} over the baseline`);
    t.ok(after < size, `memory returns: ${mb(after)} over the baseline, less than one body`);
    const next = await fetch(`${ex.url}${path}`);
    const nextSize = (await next.arrayBuffer()).byteLength;
    t.ok(next.status === 200 && Math.abs(nextSize - size) < size / 10, `the next reader gets a whole answer (${mb(nextSize)})`);
  });

  t.test(`${path}: a reader that never reads is dropped after --write-timeout`, async (t) => {
    const ex = await loaded(t, WRITE_TIMEOUT_S);
    const size = await bodySize(`${ex.url}${path}`);
    const s = await scrapeHeaders(ex.url, path);
    t.match(s.head, /^HTTP\/1\.1 200 /, 'the answer starts');
    // Reading on after the timeout (and half of it again for a late timer): less than promised, then the end.
    await waitMs(WRITE_TIMEOUT_S * 1500);
    const received = await new Promise<number>((resolve) => {
      let n = s.bodyBytes;
      s.socket
        .on('data', (c: Buffer) => (n += c.length))
        .on('close', () => resolve(n))
        .resume();
    });
    t.ok(received < size, `dropped: ${mb(received)} of ${mb(size)} arrived`);
  });

  t.test(`${path}: ${PIPELINED} pipelined requests on one connection`, async (t) => {
    const ex = await loaded(t, 3600);
    const size = await bodySize(`${ex.url}${path}`);
    await bodySize(`${ex.url}${path}`);
    const base = used();
    const rssBase = process.memoryUsage().rss;
    const { hostname, port } = new URL(ex.url);
    const socket: Socket = connect(Number(port), hostname);
    await new Promise((resolve) => socket.once('connect', resolve));
    const responses = countResponses(socket);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`.repeat(PIPELINED));
    const first = (await responses.next()).value;
    t.ok(first?.status === 200 && first.whole, 'the first answer, whole');
    // The client stops reading: one answer is in flight, the rest wait.
    socket.pause();
    await waitMs(500);
    const during = used() - base;
    t.comment(
      `${path}: body ${mb(size)}; ${PIPELINED} pipelined requests, reader paused, add ${mb(during)} (RSS ${mb(process.memoryUsage().rss - rssBase)})`,
    );
    t.ok(during < 2 * size, `${PIPELINED} pipelined requests add ${mb(during)}, under two bodies (${mb(2 * size)})`);
    socket.resume();
    for (let i = 0; i < 3; i++) {
      const r = (await responses.next()).value;
      // /metrics changes a little from one answer to the next (the exporter's own series).
      t.ok(r?.status === 200 && r.whole && Math.abs(r.bodyBytes - size) < size / 10, `answer ${i + 2} in order, whole`);
    }
    socket.destroy();
    await waitMs(200);
    const after = used() - base;
    t.comment(`${path}: after the connection closed: ${mb(after)} over the baseline`);
    t.ok(after < size, `memory returns: ${mb(after)} over the baseline, less than one body`);
  });
}
