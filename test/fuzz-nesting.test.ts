// Bodies of nested brackets as large as the exporter takes (--max-body-bytes, default 4 MiB) must
// not block its event loop longer than an ordinary body of the same size (issue 8): the decoder
// counts depth and the number of arrays, objects and keys in one scan before JSON.parse
// (report/json-shape.ts), so deep bodies stop at level 17 and wide ones (`[[],[],...]`,
// which JSON.parse took 150-560 ms for) at the member cap. The bodies go to an in-process
// exporter from a client in another process, built before the watch starts, so this process's
// loop does only what the exporter does.
// How blocking is measured: a 1 ms timer ticks on the loop the exporter shares with this test,
// and each gap between ticks is charged the process CPU time spent in it. A turn of the loop that
// runs 20 ms of code shows 20 ms of CPU; a process the OS leaves waiting shows wall time but no
// CPU. The limit is 20 ms, or twice the p99 that ordinary 4 MiB bodies (one long string, parsed
// and refused after the parse) cost in the same run, alternating with the bracket bodies: on a
// busy 2-core machine GC threads and cache misses raise both alike, and a parse of the bracket
// bodies (the bug) costs ten to fifty times more than either.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import t from 'tap';
import { parseExporterConfig } from '../exporter/config.js';
import { decodeReport } from '../report/decode.js';
import { LIMITS, PHASES } from '../report/schema.js';
import { report, startTestExporter } from './helpers/exporter.js';

/** The body limit an exporter with the default (memory) store has. */
const LIMIT_BYTES = ((): number => {
  const parsed = parseExporterConfig([]);
  if (!parsed.ok || parsed.help) throw new Error('the default exporter config does not parse');
  return parsed.config.maxBodyBytes;
})();
const BLOCK_LIMIT_MS = 20;

/** `unit` repeated between `open` and `close` to exactly `size` bytes (padded with spaces). */
function fill(open: string, unit: string, sep: string, close: string, size: number): Buffer {
  const n = Math.floor((size - open.length - close.length + sep.length) / (unit.length + sep.length));
  const text = open + Array(n).fill(unit).join(sep) + close;
  return Buffer.from(text.padEnd(size, ' '));
}

const nest16 = `${'['.repeat(15)}${']'.repeat(15)}`;
const SHAPES: Record<string, Buffer> = {
  'deep, unclosed': Buffer.from('['.repeat(LIMIT_BYTES)),
  'deep, balanced': Buffer.from('['.repeat(LIMIT_BYTES / 2) + ']'.repeat(LIMIT_BYTES / 2)),
  'deep objects': fill('', '{"a":', '', '', LIMIT_BYTES),
  'deep inside a report': Buffer.from(`{"report_interval":2,"x":${'['.repeat(LIMIT_BYTES / 2 - 20)}${']'.repeat(LIMIT_BYTES / 2 - 20)}}`),
  'wide, empty arrays': fill('[', '[]', ',', ']', LIMIT_BYTES),
  'wide, 15 deep each': fill('[', nest16, ',', ']', LIMIT_BYTES),
  'wide objects in a report': fill('{"report_interval":2,"x":[', '{}', ',', ']}', LIMIT_BYTES),
};
/** Ordinary bodies of the limit's size: a scan and a full JSON.parse, then 400 invalid_field. */
const BASELINE = Buffer.from(`{"report_interval":"${'a'.repeat(LIMIT_BYTES - 24)}"}`);
/** Baseline and bracket bodies take turns, so a change of machine load meets both: 56 bracket bodies in all. */
const ALTERNATIONS = 2;
const ROUNDS = 4;

/** CPU milliseconds (all threads: an upper bound for the loop's own) of each gap between 1 ms ticks, until stopped. */
function watchLoop(): { stop(): number[] } {
  const blocks: number[] = [];
  let cpu = process.cpuUsage();
  let timer = setTimeout(function tick() {
    const used = process.cpuUsage(cpu);
    blocks.push((used.user + used.system) / 1000);
    cpu = process.cpuUsage();
    timer = setTimeout(tick, 1);
  }, 1);
  return {
    stop() {
      clearTimeout(timer);
      return blocks;
    },
  };
}

/** Posts every file `rounds` times from a separate node process, one at a time; resolves with each answer. */
async function postFromChild(
  url: string,
  files: Record<string, string>,
  rounds: number,
): Promise<Array<{ shape: string; status: number; text: string }>> {
  const code = `
    const { request } = require('node:http');
    const { readFileSync } = require('node:fs');
    const { url, files, rounds } = JSON.parse(process.env.POSTS);
    const post = (body) => new Promise((resolve, reject) => {
      const req = request(url + '/api/v1/agents/agent-a', { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': body.length } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c) => (text += c)).on('end', () => resolve({ status: res.statusCode, text }));
      });
      req.on('error', reject);
      req.end(body);
    });
    (async () => {
      const bodies = Object.entries(files).map(([shape, file]) => [shape, readFileSync(file)]);
      for (let r = 0; r < rounds; r++) for (const [shape, body] of bodies) console.log(JSON.stringify({ shape, ...(await post(body)) }));
    })();`;
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', code], {
    env: { POSTS: JSON.stringify({ url, files, rounds }) },
    maxBuffer: 1 << 20,
  });
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { shape: string; status: number; text: string });
}

t.test(`${ALTERNATIONS * ROUNDS * Object.keys(SHAPES).length} bodies of nested brackets up to ${LIMIT_BYTES} bytes`, async (t) => {
  for (const [shape, body] of Object.entries(SHAPES)) {
    t.ok(body.length <= LIMIT_BYTES && body.length > LIMIT_BYTES - 64, `${shape}: ${body.length} bytes`);
    const text = body.toString();
    const started = performance.now();
    const decoded = decodeReport(text);
    t.comment(`${shape}: decodeReport alone ${(performance.now() - started).toFixed(1)} ms -> ${decoded.ok ? 'ok' : decoded.code}`);
  }

  const dir = mkdtempSync(join(tmpdir(), 'netchecker-nesting-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const files = Object.fromEntries(Object.entries(SHAPES).map(([shape], i) => [shape, join(dir, `${i}.json`)]));
  for (const [shape, body] of Object.entries(SHAPES)) writeFileSync(files[shape] as string, body);

  // The client is another process, so this one's loop holds only the exporter.
  const ex = await startTestExporter(t);
  const baselineFiles = { 'one long string': join(dir, 'baseline.json') };
  writeFileSync(baselineFiles['one long string'], BASELINE);
  const shapeBlocks: number[] = [];
  const baselineBlocks: number[] = [];
  const answers: Array<{ shape: string; status: number; text: string }> = [];
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  for (let i = 0; i < ALTERNATIONS; i++) {
    const base = watchLoop();
    const baseAnswers = await postFromChild(ex.url, baselineFiles, ROUNDS * Object.keys(SHAPES).length);
    baselineBlocks.push(...base.stop());
    t.ok(
      baseAnswers.every((a) => a.status === 400 && a.text.includes('"error":"invalid_field"')),
      `baseline ${i + 1}: 400 invalid_field every time`,
    );
    const watch = watchLoop();
    answers.push(...(await postFromChild(ex.url, files, ROUNDS)));
    shapeBlocks.push(...watch.stop());
  }
  loop.disable();
  const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
  const p = (blocks: number[], q: number): number => {
    const sorted = [...blocks].sort((a, b) => a - b);
    return Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) * 100) / 100;
  };
  t.comment(
    `wall-clock event-loop delay (monitorEventLoopDelay): p50 ${ms(loop.percentile(50))} ms, p99 ${ms(loop.percentile(99))} ms, max ${ms(loop.max)} ms (${loop.count} samples)`,
  );
  t.comment(
    `CPU per loop turn, ordinary bodies: p50 ${p(baselineBlocks, 0.5)} ms, p99 ${p(baselineBlocks, 0.99)} ms, max ${p(baselineBlocks, 1)} ms (${baselineBlocks.length} turns)`,
  );
  t.comment(
    `CPU per loop turn, bracket bodies: p50 ${p(shapeBlocks, 0.5)} ms, p99 ${p(shapeBlocks, 0.99)} ms, max ${p(shapeBlocks, 1)} ms (${shapeBlocks.length} turns)`,
  );
  const limit = Math.max(BLOCK_LIMIT_MS, 2 * p(baselineBlocks, 0.99));
  t.ok(
    p(shapeBlocks, 0.99) <= limit,
    `event loop blocked at p99 for ${p(shapeBlocks, 0.99)} ms of CPU <= ${limit} ms (${BLOCK_LIMIT_MS} ms, or twice the ordinary bodies' p99)`,
  );
  t.equal(answers.length, ALTERNATIONS * ROUNDS * Object.keys(SHAPES).length, 'every body was answered');
  for (const shape of Object.keys(SHAPES)) {
    t.ok(
      answers.filter((a) => a.shape === shape).every((a) => a.status === 400 && a.text.includes('"error":"too_deep"')),
      `${shape}: 400 too_deep every time`,
    );
  }
  t.same(await (await fetch(`${ex.url}/api/v1/agents/`)).json(), {}, 'nothing stored');
});

t.test('the member cap still takes the largest report LIMITS allow', async (t) => {
  const map = Object.fromEntries(Array.from({ length: LIMITS.interfacesMax }, (_, i) => [`if${i}`, [`10.0.${i >> 8}.${i & 255}/32`]]));
  const phases = Object.fromEntries(PHASES.map((p) => [p, 1.5]));
  const probe = {
    URL: 'http://x/',
    ConnectionResult: 1,
    HTTPCode: 200,
    Total: 1,
    ContentTransfer: 0,
    TCPConnection: 0,
    DNSLookup: 0,
    Connect: 0,
    ServerProcessing: 0,
    Result: 'ok',
    PhasesMs: phases,
  };
  const body = report({
    uptime: 5,
    nslookup: map,
    ips: map,
    network_probes: Array.from({ length: LIMITS.probesMax }, () => probe),
    zero_extender: [0, 0, 0],
    network: 'pod',
    agent_version: '1',
    listen: '10.0.0.1:8081',
    dns: Array.from({ length: LIMITS.dnsQueriesMax }, () => ({ server: 's', name: 'n', result: 'ok', latency_ms: 1, family: 'ipv6' })),
    peers: Array.from({ length: LIMITS.peersMax }, (_, i) => ({
      name: `p${i}`,
      node: 'n',
      network: 'pod',
      result: 'ok',
      sent: 3,
      lost: 0,
      rtt_ms: 1,
    })),
    icmp_available: true,
    path_mtu: { exporter: 1500, peers: 1500 },
    integrity: { event_loop_lag_ms: 1, cpu_throttled_ratio: 0, starved: false },
  });
  const decoded = decodeReport(body);
  t.ok(decoded.ok, `${body.length} bytes, accepted${decoded.ok ? '' : `: ${decoded.code} ${decoded.detail}`}`);
});
