// ICMP through the real system ping on loopback: echo, don't-fragment sizes for the path MTU,
// "unavailable" (not failure) for an agent without the permission to ping or without ping, with
// the real error logged once, and ICMP back after the re-check's backoff once ping works.
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { parseAgentConfig } from '../agent/config.js';
import { checkIcmp, classifyPing, probeIcmp } from '../agent/probes/icmp.js';
import { IcmpAvailability, icmpProblem, icmpRecheckDelayMs } from '../agent/probes/icmp-availability.js';
import { ProbeRound } from '../agent/probes/round.js';
import { createLogger } from '../lib/log.js';
import { startFakeExporter } from './helpers/agent-server.js';
import { confirmedMtu, hostOf, probePathMtu } from '../agent/probes/mtu.js';

t.test('echo on loopback', async (t) => {
  const r = await probeIcmp('127.0.0.1', { timeoutMs: 1000 });
  if (r.result === 'unavailable') t.fail(`ping is missing or not permitted (Debian package iputils-ping): ${r.error}`);
  t.equal(r.result, 'ok');
  t.ok(r.rttMs !== null && r.rttMs >= 0);
  t.same(await checkIcmp(1000), { available: true });
});

t.test("path MTU: the largest don't-fragment size that passes", async (t) => {
  // Loopback's MTU is 65536: every size up to it passes, 70000 cannot even be sent.
  t.equal(await probePathMtu('127.0.0.1', { timeoutMs: 1000, sizes: [1200, 1500, 9000] }), 9000);
  t.equal(await probePathMtu('127.0.0.1', { timeoutMs: 1000, sizes: [70000] }), null);
  t.equal(hostOf('[fd00::1]:8090'), 'fd00::1');
  t.equal(hostOf('198.18.0.1:8090'), '198.18.0.1');
});

t.test('ping output table', async (t) => {
  t.same(classifyPing(0, '64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.045 ms', ''), { result: 'ok', rttMs: 0.045 });
  t.same(classifyPing(1, '1 packets transmitted, 0 received', ''), { result: 'timeout', rttMs: null });
  t.same(classifyPing(1, '', 'ping: local error: message too long, mtu=1400'), { result: 'too_big', rttMs: null });
  t.same(classifyPing(2, '', 'ping: socket: Operation not permitted'), { result: 'unavailable', rttMs: null });
  t.same(classifyPing(null, '', 'EPERM'), { result: 'unavailable', rttMs: null });
});

t.test('without the permission to ping: unavailable, not a failure', async (t) => {
  const module = fileURLToPath(new URL('../agent/probes/icmp.ts', import.meta.url));
  const script = `import(${JSON.stringify(module)}).then(async (m) => console.log(JSON.stringify([await m.checkIcmp(1000), (await m.probeIcmp('127.0.0.1', { timeoutMs: 1000 })).result])))`;
  // As nobody with every capability dropped, ping's file capability cannot apply.
  const out = await new Promise<string>((resolve) =>
    execFile(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        '--inh-caps=-all',
        '--bounding-set=-all',
        process.execPath,
        ...process.execArgv,
        '-e',
        script,
      ],
      { encoding: 'utf8' },
      (err, stdout, stderr) => resolve(err ? `error: ${err.message} ${stderr}` : stdout.trim()),
    ),
  );
  // The kernel refuses to run ping with a file capability outside the bounding set: EPERM.
  t.match(
    out,
    /^\[\{"available":false,"error":"(EPERM|ping: socket: Operation not permitted|ping: socket: Permission denied)"\},"unavailable"\]$/,
  );
});

t.test("a peer's path MTU drops only when seen twice in a row", async (t) => {
  t.same(
    [undefined, [null, 1500], [1500, 1400], [1400, 1400], [1400, 1500], [1500, null], [null, null]].map((h) =>
      confirmedMtu(h as [number | null, number | null] | undefined),
    ),
    [null, 1500, 1500, 1400, 1500, 1500, null],
  );
});

t.test('re-check backoff: one interval, doubling, at most 10 minutes', async (t) => {
  t.same(
    [1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => icmpRecheckDelayMs(n, 15_000) / 1000),
    [15, 30, 60, 120, 240, 480, 600, 600, 600],
  );
});

t.test('the error named as it is', async (t) => {
  const table: Array<[string, RegExp]> = [
    ['ENOENT', /^ping not found \(ENOENT\)/],
    ['ping: socket: Operation not permitted', /^ping is not permitted \(ping: socket: Operation not permitted\): needs CAP_NET_RAW/],
    ['ping: socket: Permission denied', /^ping is not permitted/],
    ['EPERM', /^ping is not permitted \(EPERM\)/],
    ['EACCES', /^ping is not permitted/],
    ['ping: connect: Network is unreachable', /^ping failed: ping: connect: Network is unreachable$/],
  ];
  for (const [error, want] of table) t.match(icmpProblem(error), want, error);
});

/** A PATH without ping, and one with a ping that is a wrapper script around the system ping. */
async function pingPaths(t: Test): Promise<{ without: string; with: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'netchecker-ping-'));
  const bin = path.join(dir, 'bin');
  await mkdir(bin);
  await writeFile(path.join(bin, 'ping'), '#!/bin/sh\nexec /usr/bin/ping "$@"\n');
  await chmod(path.join(bin, 'ping'), 0o755);
  const saved = process.env.PATH;
  t.teardown(async () => {
    process.env.PATH = saved;
    await rm(dir, { recursive: true, force: true });
  });
  return { without: dir, with: bin };
}

t.test('ping missing: ENOENT logged once; ping installed: back after the backoff, no restart', async (t) => {
  const paths = await pingPaths(t);
  let clock = 0;
  let checks = 0;
  const lines: string[] = [];
  const icmp = new IcmpAvailability({
    timeoutMs: 1000,
    intervalMs: 1000,
    log: createLogger('info', {}, (l) => lines.push(l)),
    now: () => clock,
    check: (ms) => (checks++, checkIcmp(ms)),
  });
  process.env.PATH = paths.without;
  t.equal(await icmp.refresh(), false, 'no ping on the PATH');
  clock = 999;
  t.equal(await icmp.refresh(), false);
  t.equal(checks, 1, 'not checked again before one interval');
  clock = 1000;
  t.equal(await icmp.refresh(), false);
  t.equal(checks, 2, 're-checked after one interval');
  process.env.PATH = paths.with;
  clock = 2999;
  t.equal(await icmp.refresh(), false, 'the backoff doubled: ping installed, but not checked yet');
  t.equal(checks, 2);
  clock = 3000;
  t.equal(await icmp.refresh(), true, 'back after the backoff');
  t.equal(icmp.available, true);
  const logs = lines.map((l) => JSON.parse(l) as { level: string; msg: string; reason?: string });
  t.same(
    logs.map((l) => [l.level, l.msg]),
    [
      ['warn', 'icmp unavailable'],
      ['info', 'icmp available again'],
    ],
    'one line per change, not per check',
  );
  t.match(logs[0]?.reason, /^ping not found \(ENOENT\)/, 'the log names the real error, not permissions');
});

t.test('the round reports icmp_available and path MTU again once ping works', async (t) => {
  const paths = await pingPaths(t);
  const fake = await startFakeExporter();
  t.teardown(() => fake.close());
  const parsed = parseAgentConfig(['--server', fake.url, '--name', 'agent-a', '--interval', '1', '--mtu-sizes', '1200'], {});
  if (!parsed.ok || parsed.help) throw new Error('config');
  process.env.PATH = paths.without;
  const extras = await ProbeRound.start(parsed.config, createLogger('error'));
  t.teardown(() => extras.stop());
  t.match(await extras.collect(), { icmp_available: false, path_mtu: undefined });
  process.env.PATH = paths.with;
  // The first re-check is due one interval (1 s) after the failed check at start.
  await new Promise((r) => setTimeout(r, 1000));
  t.match(await extras.collect(), { icmp_available: true, path_mtu: { exporter: 1200 } });
});
