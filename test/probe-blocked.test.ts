// Paths that must stay blocked: a listed target that answers is a failure (result ok = OPEN),
// one that refuses or stays silent is blocked; the exporter names the open target in a sparse
// series. The targets are on loopback, where "blocked" means nothing listens; a NetworkPolicy
// in the netns lab is not part of this test.
import net from 'node:net';
import t, { type Test } from 'tap';
import { parseAgentConfig } from '../agent/config.js';
import { probeBlocked } from '../agent/probes/blocked.js';
import { ProbeRound } from '../agent/probes/round.js';
import { createLogger } from '../lib/log.js';
import { startFakeExporter } from './helpers/agent-server.js';
import { postReport, report, sample, startTestExporter } from './helpers/exporter.js';
import { freePort } from './helpers/ports.js';

async function listening(t: Test): Promise<number> {
  const held: net.Socket[] = [];
  const s = net.createServer((c) => held.push(c));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        for (const c of held) c.destroy();
        s.close(() => r());
      }),
  );
  return (s.address() as net.AddressInfo).port;
}

/** A loopback port nothing listens on (below the ephemeral range: no other test takes it). */
const closedPort = freePort;

t.test('a target that answers is open; one that refuses is blocked', async (t) => {
  const open = await listening(t);
  const closed = await closedPort();
  t.same(await probeBlocked(`127.0.0.1:${open}`, { timeoutMs: 1000 }), { target: `127.0.0.1:${open}`, result: 'ok' });
  t.match(await probeBlocked(`127.0.0.1:${closed}`, { timeoutMs: 1000 }), { target: `127.0.0.1:${closed}`, result: 'refused' });
  t.match(
    await probeBlocked(`127.0.0.1:${open}`, { timeoutMs: 1000, signal: AbortSignal.abort() }),
    { result: 'timeout' },
    'cut by the round: blocked as far as we know',
  );
});

t.test('the round reports each target; off by default', async (t) => {
  const open = await listening(t);
  const closed = await closedPort();
  const fake = await startFakeExporter();
  t.teardown(() => fake.close());
  const base = ['--server', fake.url, '--name', 'agent-a', '--interval', '2', '--no-icmp', '--dns-server', ''];
  const parsed = parseAgentConfig([...base, '--must-be-blocked', `127.0.0.1:${open},127.0.0.1:${closed}`], {});
  if (!parsed.ok || parsed.help) throw new Error(parsed.ok ? 'help' : parsed.error);
  const probes = await ProbeRound.start(parsed.config, createLogger('error'));
  t.teardown(() => probes.stop());
  t.same((await probes.collect()).must_be_blocked, [
    { target: `127.0.0.1:${open}`, result: 'ok' },
    { target: `127.0.0.1:${closed}`, result: 'refused' },
  ]);

  const off = parseAgentConfig(base, {});
  if (!off.ok || off.help) throw new Error('config');
  const none = await ProbeRound.start(off.config, createLogger('error'));
  t.teardown(() => none.stop());
  t.notOk('must_be_blocked' in (await none.collect()), 'no flag, no field');
});

t.test('bad --must-be-blocked: exit 2 with one line', async (t) => {
  const env = { MY_POD_NAME: 'agent-a' };
  t.same(parseAgentConfig(['--must-be-blocked', 'db.example'], env), {
    ok: false,
    error: '--must-be-blocked: "db.example" is not HOST:PORT with a port from 1 to 65535',
  });
  t.same(parseAgentConfig(['--must-be-blocked', 'h:0'], env), {
    ok: false,
    error: '--must-be-blocked: "h:0" is not HOST:PORT with a port from 1 to 65535',
  });
  const many = Array.from({ length: 17 }, (_, i) => `10.0.0.${i}:80`).join(',');
  t.same(parseAgentConfig(['--must-be-blocked', many], env), { ok: false, error: '--must-be-blocked: at most 16 targets' });
});

t.test('the exporter: open and blocked counts, the open target named', async (t) => {
  const ex = await startTestExporter(t);
  const checks = [
    { target: '10.0.5.7:5432', result: 'ok' },
    { target: '169.254.169.254:80', result: 'timeout' },
  ];
  t.equal((await postReport(ex.url, 'agent-a', report({ podname: 'agent-a', network: 'pod', must_be_blocked: checks }))).status, 200);
  const text = await (await fetch(`${ex.url}/metrics`)).text();
  const base = 'agent="agent-a",node="node-a",network="pod"';
  t.equal(sample(text, `netchecker_agent_blocked_paths{${base},status="open"}`), 1);
  t.equal(sample(text, `netchecker_agent_blocked_paths{${base},status="blocked"}`), 1);
  t.equal(sample(text, `netchecker_agent_blocked_path_open{${base},target="10.0.5.7:5432"}`), 1);
  t.equal(text.split('\n').filter((l) => l.startsWith('netchecker_agent_blocked_path_open{')).length, 1, 'only the open one');
});
