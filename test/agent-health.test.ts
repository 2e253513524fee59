// The agent's /healthz and /readyz on its listener: 200 while the report loop runs, 503 with a
// one-line reason when it is stuck (a fake clock, and a real round stuck reading its token file),
// and never affected by an exporter the agent cannot reach.
import { execFile } from 'node:child_process';
import { mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { parseAgentConfig } from '../agent/config.js';
import { healthBoundMs, LoopHealth, loopHealth } from '../agent/health.js';
import { startListener } from '../agent/listener.js';
import { runAgent } from '../agent/main.js';
import { createLogger } from '../lib/log.js';
import { startFakeExporter } from './helpers/agent-server.js';
import { eventually } from './helpers/cli.js';
import { freePort } from './helpers/ports.js';

const get = async (port: number, p: string, method = 'GET'): Promise<[number, string]> => {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, { method });
  return [res.status, await res.text()];
};

t.test('health table: a round within 2 x interval + timeout; ready only once a round started', async (t) => {
  t.equal(healthBoundMs(15_000, 5000), 35_000);
  const b = 35_000;
  // [kind, startedMs, lastRoundMs, nowMs, ok]
  const table: Array<['live' | 'ready', number, number | null, number, boolean]> = [
    ['live', 0, null, 1000, true], // starting: counted from the start
    ['ready', 0, null, 1000, false], // no round yet
    ['live', 0, null, 35_000, true],
    ['live', 0, null, 35_001, false], // never got to its first round
    ['live', 0, 100, 35_100, true],
    ['ready', 0, 100, 35_100, true],
    ['live', 0, 100, 35_101, false],
    ['ready', 0, 100, 35_101, false],
    ['ready', 0, 600_000, 630_000, true],
  ];
  for (const [kind, startedMs, lastRoundMs, nowMs, ok] of table) {
    t.equal(loopHealth(kind, { startedMs, lastRoundMs, nowMs, boundMs: b }).ok, ok, `${kind} ${startedMs} ${lastRoundMs} ${nowMs}`);
  }
  t.same(loopHealth('live', { startedMs: 0, lastRoundMs: 1000, nowMs: 48_000, boundMs: b }), {
    ok: false,
    reason: 'no report round started 47 s ago (bound 35 s): the loop is stuck',
  });
});

t.test('the listener serves the loop health: 200, then 503 with the reason once the loop is stuck', async (t) => {
  let clock = 0;
  const health = new LoopHealth(1000, 500, () => clock);
  const listener = await startListener('127.0.0.1', 0, health);
  t.teardown(() => listener.close());
  t.same(await get(listener.port, '/healthz'), [200, 'ok\n'], 'alive while starting');
  t.same(await get(listener.port, '/readyz'), [503, 'no report round started yet\n']);
  health.roundStarted();
  t.same(await get(listener.port, '/readyz'), [200, 'ok\n']);
  t.same(await get(listener.port, '/'), [200, 'ok\n'], 'peers still get their answer');
  clock = 2500;
  t.same(await get(listener.port, '/healthz'), [200, 'ok\n'], 'at the bound');
  clock = 3600;
  t.same(await get(listener.port, '/healthz'), [503, 'no report round started 3.6 s ago (bound 2.5 s): the loop is stuck\n']);
  t.equal((await get(listener.port, '/readyz'))[0], 503);
  t.same(await get(listener.port, '/healthz', 'HEAD'), [503, '']);
  t.equal((await get(listener.port, '/healthz?x'))[0], 404);
  const bare = await startListener('127.0.0.1', 0);
  t.teardown(() => bare.close());
  t.equal((await get(bare.port, '/healthz'))[0], 404, 'a listener without a health source serves / only');
});

function agentConfig(server: string, port: number, extra: string[] = []) {
  const parsed = parseAgentConfig(
    [
      '--server',
      server,
      '--interval',
      '1',
      '--name',
      'agent-h',
      '--listen',
      `127.0.0.1:${port}`,
      '--no-icmp',
      '-zeroextenderlength',
      '10',
      ...extra,
    ],
    {},
  );
  if (!parsed.ok || parsed.help) throw new Error('config');
  return parsed.config;
}

t.test('the exporter unreachable: the agent stays live and ready (its silence is network evidence)', async (t) => {
  const closed = await freePort(); // nothing listens there
  const port = await freePort();
  const config = agentConfig(`http://127.0.0.1:${closed}`, port);
  const lines: string[] = [];
  const stop = new AbortController();
  const done = runAgent(config, { signal: stop.signal, log: createLogger('info', {}, (l) => lines.push(l)) });
  t.teardown(async () => {
    stop.abort();
    await done;
  });
  await eventually(async () => ((await get(port, '/readyz'))[0] === 200 ? true : undefined), 10 * 1000, 'ready');
  // Past the bound (2 x interval + timeout) and one more interval: rounds keep starting.
  await new Promise((r) => setTimeout(r, healthBoundMs(1000, config.timeoutMs) + 1000));
  t.same(await get(port, '/healthz'), [200, 'ok\n']);
  t.same(await get(port, '/readyz'), [200, 'ok\n']);
  t.ok(
    lines.some((l) => (JSON.parse(l) as { msg: string }).msg === 'reports failing'),
    'while every report fails',
  );
});

t.test('a round stuck in I/O (the token file became a FIFO nobody writes): 503, then 200 once it moves on', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'netchecker-health-'));
  const fifo = path.join(dir, 'fifo');
  await writeFile(path.join(dir, 'real'), 'token-1\n');
  await promisify(execFile)('mkfifo', [fifo]);
  await symlink('real', path.join(dir, 'token'));
  // Swap the token symlink atomically, as the kubelet does with a projected token.
  const pointTo = async (target: string): Promise<void> => {
    await symlink(target, path.join(dir, 'token.new'));
    await rename(path.join(dir, 'token.new'), path.join(dir, 'token'));
  };
  let stuck = false;
  const unstick = async (): Promise<void> => {
    if (!stuck) return;
    stuck = false;
    await pointTo('real');
    await writeFile(fifo, 'token-1\n'); // opens the FIFO for writing: the blocked read gets its token
  };
  const fake = await startFakeExporter();
  const port = await freePort();
  const stop = new AbortController();
  const done = runAgent(agentConfig(fake.url, port, ['--token-file', path.join(dir, 'token')]), {
    signal: stop.signal,
    log: createLogger('error'),
  });
  t.teardown(async () => {
    await unstick();
    stop.abort();
    await done;
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  await eventually(async () => (fake.reports.length >= 2 ? true : undefined), 10 * 1000, 'two reports');
  t.same(await get(port, '/healthz'), [200, 'ok\n'], 'running');
  t.same(await get(port, '/readyz'), [200, 'ok\n']);
  stuck = true;
  await pointTo('fifo');
  const bound = healthBoundMs(1000, 500);
  const [status, body] = await eventually(
    async () => {
      const r = await get(port, '/healthz');
      return r[0] === 503 ? r : undefined;
    },
    bound + 10 * 1000,
    'healthz 503',
  );
  t.equal(status, 503);
  t.match(body, /^no report round started [\d.]+ s ago \(bound 2\.5 s\): the loop is stuck\n$/);
  t.equal((await get(port, '/readyz'))[0], 503, 'not ready either');
  t.same(await get(port, '/'), [200, 'ok\n'], 'the listener itself still answers');
  const reports = fake.reports.length;
  await unstick();
  await eventually(async () => ((await get(port, '/readyz'))[0] === 200 ? true : undefined), 10 * 1000, 'ready again');
  await eventually(async () => (fake.reports.length > reports ? true : undefined), 10 * 1000, 'reports again');
  t.same(await get(port, '/healthz'), [200, 'ok\n']);
});
