import { performance } from 'node:perf_hooks';
import t from 'tap';
import { parseAgentConfig } from '../agent/config.js';
import { runAgent } from '../agent/main.js';
import { backoffMs, sendReport } from '../agent/send.js';
import { createLogger } from '../lib/log.js';
import { startFakeExporter } from './helpers/agent-server.js';

t.test('backoff: full jitter under an exponential cap', async (t) => {
  t.equal(
    backoffMs(1, () => 0),
    0,
  );
  t.equal(
    backoffMs(1, () => 0.5),
    50,
  );
  t.equal(
    backoffMs(3, () => 0.5),
    200,
  );
  t.equal(
    backoffMs(30, () => 0.5),
    5000,
    'capped at 10 s',
  );
});

t.test('503 twice then 200: the same report is retried and delivered before the next slot', async (t) => {
  const fake = await startFakeExporter({ status: (i) => (i < 2 ? 503 : 200) });
  t.teardown(() => fake.close());
  const start = performance.now();
  const r = await sendReport(`${fake.url}/api/v1/agents/a`, () => '{"x":1}', { timeoutMs: 500, deadlineMs: start + 1000 });
  t.same(r, { ok: true, status: 200, attempts: 3 });
  t.equal(fake.reports.length, 3);
  t.ok(
    fake.reports.every((a) => a.body === '{"x":1}'),
    'same body each time',
  );
  t.ok(performance.now() < start + 1000, 'before the deadline');
});

t.test('the body is built per attempt: a retry carries the time it is sent', async (t) => {
  const fake = await startFakeExporter({ status: (i) => (i < 2 ? 503 : 200) });
  t.teardown(() => fake.close());
  let built = 0;
  const r = await sendReport(`${fake.url}/api/v1/agents/a`, () => JSON.stringify({ attempt: ++built }), {
    timeoutMs: 500,
    deadlineMs: performance.now() + 1000,
  });
  t.same(r, { ok: true, status: 200, attempts: 3 });
  t.same(
    fake.reports.map((a) => a.body),
    ['{"attempt":1}', '{"attempt":2}', '{"attempt":3}'],
  );
});

t.test('no retry runs past the deadline', async (t) => {
  const fake = await startFakeExporter({ status: () => 503 });
  t.teardown(() => fake.close());
  const start = performance.now();
  const r = await sendReport(`${fake.url}/api/v1/agents/a`, () => '{}', { timeoutMs: 500, deadlineMs: start + 600, random: () => 1 });
  t.match(r, { ok: false, status: 503, error: 'http_error' });
  t.ok(r.attempts >= 2, `retried (${r.attempts} attempts)`);
  t.ok(performance.now() <= start + 600, 'gave up before the deadline');
});

t.test('4xx is not retried', async (t) => {
  const fake = await startFakeExporter({ status: () => 400 });
  t.teardown(() => fake.close());
  const r = await sendReport(`${fake.url}/api/v1/agents/a`, () => '{}', { timeoutMs: 500, deadlineMs: performance.now() + 5000 });
  t.match(r, { ok: false, status: 400, error: 'http_error', attempts: 1 });
});

t.test('connection refused is classified and retried', async (t) => {
  const fake = await startFakeExporter();
  const url = fake.url;
  await fake.close();
  const r = await sendReport(`${url}/api/v1/agents/a`, () => '{}', { timeoutMs: 200, deadlineMs: performance.now() + 500 });
  t.match(r, { ok: false, status: null, error: 'refused' });
  t.ok(r.attempts > 1);
});

t.test('stop: no new attempt after shutdown', async (t) => {
  const fake = await startFakeExporter({ status: () => 503 });
  t.teardown(() => fake.close());
  const stop = new AbortController();
  stop.abort();
  const r = await sendReport(`${fake.url}/api/v1/agents/a`, () => '{}', {
    timeoutMs: 500,
    deadlineMs: performance.now() + 5000,
    stop: stop.signal,
  });
  t.match(r, { ok: false, attempts: 1 });
});

t.test('the agent logs failing once and recovering once', async (t) => {
  // Report 0 fails (4xx, no retry), reports 1 and 2 succeed.
  const fake = await startFakeExporter({ status: (i) => (i === 0 ? 400 : 200) });
  t.teardown(() => fake.close());
  const parsed = parseAgentConfig(['--server', fake.url, '--interval', '1', '--name', 'agent-b'], {});
  if (!parsed.ok || parsed.help) throw new Error('config');
  const stop = new AbortController();
  const lines: string[] = [];
  const done = runAgent(parsed.config, { signal: stop.signal, log: createLogger('info', {}, (l) => lines.push(l)) });
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => fake.reports.length >= 3 && (clearInterval(poll), resolve()), 20);
  });
  stop.abort();
  await done;
  const logged = lines.map((l) => JSON.parse(l) as { msg: string; level: string; agent: string });
  t.same(
    logged.map((l) => [l.level, l.msg]),
    [
      ['info', 'agent started'],
      ['warn', 'reports failing'],
      ['info', 'reports succeeding again'],
      ['info', 'agent stopped'],
    ],
  );
  t.ok(logged.every((l) => l.agent === 'agent-b'));
});
