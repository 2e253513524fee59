// Graceful shutdown of the exporter process (exporter/shutdown.ts): SIGTERM fails /readyz at
// once, requests in flight complete, the process exits 0 within drain delay + 10 s, also as PID 1
// of its own PID namespace; a second signal and the hard deadline exit non-zero. And the agent
// process stops cleanly in the middle of a report.
//
// Timing: "503 within 100 ms of SIGTERM" is asserted on the exporter's own log line, written in
// the signal handler right after readiness flipped, against the wall-clock moment this test sent
// the signal (same machine, same clock), plus the slowest /readyz answer just before the signal:
// on a busy machine the exporter may wait that long for a CPU, whatever it does. A poller (every
// 10 ms) checks what users see: every /readyz request sent after that moment answered 503, and
// the poller's own delay is printed.

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import t, { type Test } from 'tap';
import { startFakeExporter } from './helpers/agent-server.js';
import { CLI, type Spawned, spawnCli } from './helpers/cli.js';
import { report } from './helpers/exporter.js';

const DRAIN_S = 2;
const DEADLINE_EXTRA_MS = 10_000;

interface Poll {
  startMs: number;
  endMs: number;
  status: number;
}

/** GET /readyz every 10 ms until stopped (fresh fetches; a refused connection is status 0). */
function pollReadyz(url: string): { polls: Poll[]; stop(): Promise<void> } {
  const polls: Poll[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const startMs = Date.now();
      const status = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) })
        .then(async (r) => (await r.text(), r.status))
        .catch(() => 0);
      polls.push({ startMs, endMs: Date.now(), status });
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    polls,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** A report POST whose body arrives in two halves: the second when `finish` is called. */
function slowReport(url: string, name: string): { finish(): void; answer: Promise<{ status: number; connection: string | undefined }> } {
  const body = report({ podname: name });
  const half = body.length >> 1;
  const req = request(`${url}/api/v1/agents/${name}`, {
    method: 'POST',
    agent: false,
    headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
  });
  const answer = new Promise<{ status: number; connection: string | undefined }>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
    });
    req.on('error', () => resolve({ status: 0, connection: undefined }));
  });
  req.flushHeaders();
  req.write(body.slice(0, half));
  return { finish: () => req.end(body.slice(half)), answer };
}

function logLine(s: Spawned, msg: string): Record<string, unknown> | undefined {
  return s.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.msg === msg);
}

async function startExporter(t: Test, args: string[]): Promise<{ s: Spawned; url: string }> {
  const s = spawnCli(t, ['exporter', '--listen', '127.0.0.1:0', ...args]);
  const url = (await s.waitFor(/"msg":"exporter listening".*?"url":"(http:[^"]+)"/, 20_000))[1] as string;
  return { s, url };
}

t.test('SIGTERM: /readyz 503 at once, requests in flight answered 200, exit 0 within the drain delay + 10 s', async (t) => {
  const { s, url } = await startExporter(t, ['--shutdown-delay', String(DRAIN_S)]);
  t.equal((await fetch(`${url}/readyz`)).status, 200, 'ready before the signal');
  const duringDrain = slowReport(url, 'agent-drain');
  const atClose = slowReport(url, 'agent-close');
  const poller = pollReadyz(url);
  await new Promise((r) => setTimeout(r, 200));
  const exited = s.exited();
  const signalAtMs = Date.now();
  s.child.kill('SIGTERM');

  await s.waitFor(/"msg":"shutting down"/, 5000);
  const flippedAtMs = Date.parse(String(logLine(s, 'shutting down')?.time));
  // The slowest /readyz answer before the signal is how long this machine takes, right now, to
  // get the exporter to react to anything: the 100 ms are counted on top of it.
  const slowestMs = Math.max(...poller.polls.filter((p) => p.endMs < signalAtMs).map((p) => p.endMs - p.startMs));
  t.ok(
    flippedAtMs - signalAtMs <= 100 + slowestMs,
    `readiness flipped ${flippedAtMs - signalAtMs} ms after SIGTERM (exporter's log; limit 100 ms + the slowest /readyz before it, ${slowestMs} ms)`,
  );

  // Mid-drain: a new request is still served, and told to close its connection.
  await new Promise((r) => setTimeout(r, 500));
  const mid = await fetch(`${url}/api/v1/agents/agent-new`, {
    method: 'POST',
    body: report({ podname: 'agent-new' }),
    headers: { 'Content-Type': 'application/json' },
  });
  t.equal(mid.status, 200, 'a report sent during the drain is accepted');
  t.equal(mid.headers.get('connection'), 'close', 'answers during the drain close their connection');
  duringDrain.finish();
  t.same(
    await duringDrain.answer,
    { status: 200, connection: 'close' },
    'a report in flight at the signal completes with 200 during the drain',
  );
  t.equal((await fetch(`${url}/api/v1/agents/agent-drain`)).status, 200, 'and it was stored');

  // The second slow report is still in flight when the drain delay ends and the listener closes.
  await s.waitFor(/drain delay over: closing/, DRAIN_S * 1000 + 5000);
  const refused = await fetch(`${url}/readyz`).then(
    () => false,
    () => true,
  );
  t.ok(refused, 'after the drain delay the port no longer accepts connections');
  await new Promise((r) => setTimeout(r, 300));
  t.ok(s.child.exitCode === null, 'still running while a request is in flight');
  atClose.finish();
  t.equal((await atClose.answer).status, 200, 'a request in flight when the listener closes completes with 200');

  const code = await exited;
  const exitMs = Date.now() - signalAtMs;
  await poller.stop();
  t.equal(code, 0, 'exit code 0');
  t.ok(exitMs <= DRAIN_S * 1000 + DEADLINE_EXTRA_MS, `exited ${exitMs} ms after SIGTERM (limit ${DRAIN_S} s drain + 10 s)`);
  t.ok(logLine(s, 'exporter stopped'), 'logged its stop');

  const before = poller.polls.filter((p) => p.endMs < signalAtMs);
  const after = poller.polls.filter((p) => p.startMs > flippedAtMs);
  t.ok(before.length > 0 && before.every((p) => p.status === 200), 'ready until the signal');
  t.ok(after.length > 0, 'polled after the flip');
  t.same(
    after.filter((p) => p.status !== 503 && p.status !== 0),
    [],
    'every /readyz sent after the flip answered 503 (or was refused once the listener closed)',
  );
  const first503 = poller.polls.find((p) => p.status === 503);
  t.ok(first503, 'a 503 was seen');
  if (first503)
    t.comment(`first 503 answer seen by the 10 ms poller ${first503.endMs - signalAtMs} ms after SIGTERM (includes polling delay)`);
});

t.test('a second SIGTERM exits at once, non-zero', async (t) => {
  const { s } = await startExporter(t, ['--shutdown-delay', '60']);
  const exited = s.exited();
  s.child.kill('SIGTERM');
  await s.waitFor(/"msg":"shutting down"/, 5000);
  const secondAtMs = Date.now();
  s.child.kill('SIGINT');
  const code = await exited;
  t.equal(code, 1);
  t.ok(Date.now() - secondAtMs < 5000, 'did not wait for the 60 s drain delay');
  t.match(s.stderr, /"msg":"second signal: exiting now".*"signal":"SIGINT"/);
});

t.test('hard deadline: a request that never finishes makes the exporter exit 1 with a log line at drain delay + 10 s', async (t) => {
  const { s, url } = await startExporter(t, ['--shutdown-delay', '0']);
  const stuck = slowReport(url, 'agent-stuck'); // the body's second half never comes (the server's request timeout is 30 s)
  t.teardown(() => stuck.finish());
  await new Promise((r) => setTimeout(r, 200));
  const exited = s.exited();
  const signalAtMs = Date.now();
  s.child.kill('SIGTERM');
  const code = await exited;
  const ms = Date.now() - signalAtMs;
  t.equal(code, 1, 'non-zero exit');
  t.match(s.stderr, /"level":"error","msg":"shutdown deadline passed/);
  t.ok(ms >= DEADLINE_EXTRA_MS - 100, `waited for the deadline (${ms} ms), not less`);
  t.notMatch(s.stderr, /"msg":"exporter stopped"/);
});

/** The host PID of the only child of `pid` (unshare --fork's child), when it exists. */
function childOf(pid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

t.test('as PID 1 of its own PID namespace: SIGTERM from outside drains and exits 0', async (t) => {
  if (process.getuid?.() !== 0) return void t.fail('this test needs root (unshare --pid): run the suite as root as CI does');
  const unshare = spawn(
    'unshare',
    ['--pid', '--fork', '--mount-proc', process.execPath, CLI, 'exporter', '--listen', '127.0.0.1:0', '--shutdown-delay', '1'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  unshare.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => unshare.once('exit', (code) => resolve(code)));
  const spawnError = await new Promise<Error | null>((resolve) => {
    unshare.once('error', resolve);
    unshare.once('spawn', () => resolve(null));
  });
  if (spawnError) return void t.fail(`unshare (util-linux) is required: ${spawnError.message}`);
  t.teardown(() => kill(unshare));
  const end = Date.now() + 20_000;
  let url: string | undefined;
  while (!url && Date.now() < end && unshare.exitCode === null) {
    url = /"msg":"exporter listening".*?"url":"(http:[^"]+)"/.exec(stderr)?.[1];
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!url) return void t.fail(`the exporter did not start under unshare:\n${stderr}`);
  const pid = childOf(unshare.pid as number);
  if (pid === undefined) return void t.fail('no child process under unshare');
  const nspid = /^NSpid:\s+(.*)$/m
    .exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    ?.trim()
    .split(/\s+/);
  t.equal(nspid?.[nspid.length - 1], '1', 'the exporter is PID 1 in its namespace');
  t.equal((await fetch(`${url}/readyz`)).status, 200);
  process.kill(pid, 'SIGTERM'); // as the container runtime does: to the namespace's init, from outside
  const deadline = Date.now() + 1000;
  let status = 0;
  while (Date.now() < deadline && status !== 503) {
    status = await fetch(`${url}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status !== 503) await new Promise((r) => setTimeout(r, 10));
  }
  t.equal(status, 503, 'PID 1 handles SIGTERM: /readyz answers 503');
  t.equal(await exited, 0, 'exit code 0 (passed on by unshare)');
  t.match(stderr, /"msg":"exporter stopped"/);
});

function kill(c: ChildProcess): void {
  if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

t.test('agent process: SIGTERM while a report is in flight finishes that report and exits 0', async (t) => {
  let agent: Spawned | undefined;
  const fake = await startFakeExporter({ delayMs: () => 1000, onReport: () => agent?.child.kill('SIGTERM') });
  t.teardown(() => fake.close());
  agent = spawnCli(t, ['agent', '--server', fake.url, '--name', 'agent-sig', '--interval', '30', '--log-level', 'info']);
  const code = await agent.exited();
  t.equal(code, 0);
  t.equal(fake.reports.length, 1, 'one report, none after the signal');
  t.ok(fake.lastRespondedAtMs !== null, 'the report in flight was answered');
  t.match(agent.stderr, /"msg":"reports delivered"/, 'the agent received the answer to the report in flight');
  t.match(agent.stderr, /"msg":"agent stopped"/);
});
