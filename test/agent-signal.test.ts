import { performance } from 'node:perf_hooks';
import t from 'tap';
import { run } from '../agent/main.js';
import { startFakeExporter } from './helpers/agent-server.js';
import { spawnCli } from './helpers/cli.js';

t.test('SIGTERM while a send is in flight: the send finishes, run resolves 0', async (t) => {
  const fake = await startFakeExporter({
    delayMs: () => 500,
    onReport: () => process.kill(process.pid, 'SIGTERM'),
  });
  t.teardown(() => fake.close());
  const before = process.listenerCount('SIGTERM');
  const code = await run(['--server', fake.url, '--interval', '5', '--name', 'agent-c', '--log-level', 'error'], {});
  const resolvedAt = performance.now();
  t.equal(code, 0);
  t.equal(fake.reports.length, 1, 'no report after the stop');
  t.ok(fake.lastRespondedAtMs !== null && fake.lastRespondedAtMs <= resolvedAt, 'the answer to the report in flight was received first');
  t.equal(process.listenerCount('SIGTERM'), before, 'signal handlers removed');
});

t.test('SIGINT while waiting for the next slot stops at once', async (t) => {
  const fake = await startFakeExporter({ onReport: () => setTimeout(() => process.kill(process.pid, 'SIGINT'), 100) });
  t.teardown(() => fake.close());
  const start = performance.now();
  const code = await run(['--server', fake.url, '--interval', '60', '--name', 'agent-d', '--log-level', 'error'], {});
  t.equal(code, 0);
  t.ok(performance.now() - start < 30_000, 'did not wait for the next slot');
});

t.test('a second SIGTERM ends the agent at once (exit 1), without waiting for the report in flight', async (t) => {
  let agent: ReturnType<typeof spawnCli> | null = null;
  // The exporter holds the first report for 4 s: the first signal waits for it, the second not.
  const fake = await startFakeExporter({
    delayMs: () => 4000,
    onReport: () => {
      agent?.child.kill('SIGTERM');
      setTimeout(() => agent?.child.kill('SIGTERM'), 200);
    },
  });
  t.teardown(() => fake.close());
  agent = spawnCli(t, ['agent', '--server', fake.url, '--interval', '30', '--timeout', '10', '--name', 'agent-e', '--log-level', 'error']);
  t.equal(await agent.exited(), 1, 'exit 1: ended by the second signal, not after the report');
  t.equal(fake.lastRespondedAtMs, null, 'the report in flight was not waited for');
});

t.test('invalid config: exit code 2; --help: 0', async (t) => {
  const err: string[] = [];
  const out: string[] = [];
  // eslint-disable-next-line @typescript-eslint/unbound-method -- put back on the same streams below, so this stays right
  const restore = [process.stderr.write, process.stdout.write] as const;
  process.stderr.write = (s: string) => err.push(s) > 0;
  process.stdout.write = (s: string) => out.push(s) > 0;
  let codes: number[];
  try {
    // No assertions in here: tap itself writes to stdout.
    codes = [await run(['--interval', '0', '--name', 'a'], {}), await run(['--help'], {})];
  } finally {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- the same streams they came from
    [process.stderr.write, process.stdout.write] = restore;
  }
  t.same(codes, [2, 0]);
  t.same(err, ['netchecker agent: --interval must be an integer from 1 to 3600, got 0\n']);
  t.match(out.join(''), /^Usage: netchecker agent/);
});
