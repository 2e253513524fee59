// Wall-clock steps on the exporter: it runs as its own process under libfaketime (Debian package
// faketime) whose offset the test changes at run time (FAKETIME_TIMESTAMP_FILE, re-read on every
// clock call with FAKETIME_NO_CACHE=1). DONT_FAKE_MONOTONIC=1 keeps CLOCK_MONOTONIC real, as an
// NTP step does: without it libfaketime moves the monotonic clock too (performance.now() and every
// timer jump by the offset), which no real clock step does. The wall clock is stepped +1 h, back
// (-1 h) and -1 h again while two real agents and an in-test reporter send every interval:
// - connectivity_check never fails (polled every 100 ms throughout): no false outdated or absent;
// - netchecker_agent_clock_offset_seconds follows the step: hostdate minus the exporter's faked
//   clock, within 50 ms of the faked offset for the in-test reporter (500 ms for the real agents);
// - an agent killed right after a step is outdated once its age on the exporter's own clock passes
//   2 x interval, and seen so within 2 x interval + 1 s plus the polling allowance.
// With the etcd store, a step followed by an etcd blip (the cache reloads from etcd) must not age
// the records the exporter received itself by the step either; with the Kubernetes store neither,
// and a report received after a step back still reaches the API (its earlier wall-clock receipt
// does not lose to the entry this exporter wrote before the step).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { CheckAgent } from '../report/answers.js';
import { eventually, type Spawned, spawnCli } from './helpers/cli.js';
import { etcdArgs, startEtcd, waitHealthy } from './helpers/etcd.js';
import { FakeKube, shardEntries, storeArgs } from './helpers/fake-kube.js';

const INTERVAL_SECONDS = 2;
const OUTDATED_MS = (2 * INTERVAL_SECONDS + 1) * 1000;
/** Polls are 100 ms apart and each takes a few ms; on a loaded machine allow 500 ms for seeing a change. */
const POLL_ALLOWANCE_MS = 500;
/** The bound, for the in-test reporter that stamps hostdate right before it sends on a kept-alive connection. */
const OFFSET_TOLERANCE_S = 0.05;
const REAL_AGENT_TOLERANCE_S = 0.5;
const HOUR_S = 3600;

const LIBFAKETIME = ['x86_64-linux-gnu', 'aarch64-linux-gnu', 'arm-linux-gnueabihf', 'powerpc64le-linux-gnu', 's390x-linux-gnu']
  .map((triplet) => `/usr/lib/${triplet}/faketime/libfaketime.so.1`)
  .find((p) => existsSync(p));

/** connectivity_check's per-agent entry, with the exporter's own age of the last report. */
interface Poll {
  atMs: number;
  status: number;
  agents: CheckAgent[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** netchecker_agent_clock_offset_seconds per agent. */
function offsets(metrics: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of metrics.matchAll(/^netchecker_agent_clock_offset_seconds\{[^}]*agent="([^"]+)"[^}]*\} (\S+)$/gm))
    out.set(m[1] as string, Number(m[2]));
  return out;
}

t.test("libfaketime with DONT_FAKE_MONOTONIC=1 steps Node 20's wall clock only; without it the monotonic clock jumps too", async (t) => {
  if (!LIBFAKETIME) {
    t.fail('libfaketime.so.1 not found under /usr/lib/<triplet>/faketime/: the Debian package faketime is required');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), `netchecker-faketime-mode-${process.pid}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'offset'), `+${HOUR_S}\n`);
  const script = 'console.log(JSON.stringify({ wall: Date.now(), mono: String(process.hrtime.bigint()) }))';
  const clocks = (extra: NodeJS.ProcessEnv): { wallS: number; monoS: number } => {
    const env = {
      PATH: process.env.PATH,
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME_TIMESTAMP_FILE: join(dir, 'offset'),
      FAKETIME_NO_CACHE: '1',
      ...extra,
    };
    const [wall, mono] = [Date.now(), process.hrtime.bigint()];
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' })) as { wall: number; mono: string };
    return { wallS: (out.wall - wall) / 1000, monoS: Number(BigInt(out.mono) - mono) / 1e9 };
  };
  const real = clocks({ DONT_FAKE_MONOTONIC: '1' });
  t.ok(
    Math.abs(real.wallS - HOUR_S) < 10 && Math.abs(real.monoS) < 10,
    `DONT_FAKE_MONOTONIC=1: Date.now() +${real.wallS.toFixed(1)} s, CLOCK_MONOTONIC +${real.monoS.toFixed(1)} s`,
  );
  const both = clocks({});
  // libfaketime then derives CLOCK_MONOTONIC from its faked time and jumps it with every step (timers fire early).
  t.ok(
    Math.abs(both.monoS) > 10,
    `default mode: CLOCK_MONOTONIC is faked too (off by ${both.monoS.toFixed(0)} s), unlike a real clock step, so the test keeps it real`,
  );
});

/** `netchecker exporter` under libfaketime with a real monotonic clock; step() sets its wall-clock offset. */
async function fakedExporter(
  t: Test,
  lib: string,
  args: string[],
): Promise<{ url: string; exporter: Spawned; step: (seconds: number) => void }> {
  const dir = mkdtempSync(join(tmpdir(), `netchecker-faketime-${process.pid}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const offsetFile = join(dir, 'offset');
  const step = (seconds: number): void => writeFileSync(offsetFile, `${seconds >= 0 ? '+' : ''}${seconds}\n`);
  step(0);
  const exporter = spawnCli(t, ['exporter', '--listen', '127.0.0.1:0', '--startup-grace', '0', ...args], {
    LD_PRELOAD: lib,
    FAKETIME_TIMESTAMP_FILE: offsetFile,
    FAKETIME_NO_CACHE: '1',
    DONT_FAKE_MONOTONIC: '1',
  });
  const [, url] = (await exporter.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/, 20_000)) as [string, string];
  return { url, exporter, step };
}

t.test(
  'wall clock stepped +1 h and -1 h under libfaketime: no false verdict, offset metric follows, a killed agent still turns outdated',
  async (t) => {
    if (!LIBFAKETIME) {
      t.fail('libfaketime.so.1 not found under /usr/lib/<triplet>/faketime/: the Debian package faketime is required');
      return;
    }
    const names = { steady: 'agent-steady', killed: 'agent-killed', ref: 'agent-ref' };
    const { url, exporter, step } = await fakedExporter(t, LIBFAKETIME, ['--expect', Object.values(names).join(',')]);
    const agent = (name: string) =>
      spawnCli(t, [
        'agent',
        '--server',
        url,
        '--name',
        name,
        '--interval',
        String(INTERVAL_SECONDS),
        '--mtu-sizes',
        '',
        '--log-level',
        'warn',
      ]);
    agent(names.steady);
    const killed = agent(names.killed);

    // The reference reporter stamps hostdate right before each send: its offset is the faked one
    // plus transit, which is at most the round trip of the send, measured here.
    let reporting = true;
    let slowestSendS = 0;
    const reporter = (async () => {
      while (reporting) {
        const stamped = performance.now();
        const body = JSON.stringify({
          report_interval: INTERVAL_SECONDS,
          nodename: 'node-ref',
          podname: names.ref,
          hostdate: new Date().toISOString(),
        });
        await fetch(`${url}/api/v1/agents/${names.ref}`, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } }).catch(
          () => undefined,
        );
        slowestSendS = Math.max(slowestSendS, (performance.now() - stamped) / 1000);
        await sleep(INTERVAL_SECONDS * 500);
      }
    })();
    t.teardown(async () => {
      reporting = false;
      await reporter;
    });

    const check = async (): Promise<Poll> => {
      const res = await fetch(`${url}/api/v1/connectivity_check`);
      return { atMs: performance.now(), status: res.status, agents: ((await res.json()) as { agents: CheckAgent[] }).agents };
    };
    await eventually(async () => ((await check()).status === 200 ? true : undefined), 20_000, 'every agent reporting');
    const polls: Poll[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        polls.push(await check());
        await sleep(100);
      }
    })();
    t.teardown(async () => {
      polling = false;
      await poller;
    });

    /** Steps the faked clock, then waits until each agent's offset reflects a report received after the step. */
    const phase = async (offsetS: number): Promise<void> => {
      step(offsetS);
      const [ref, ...agents] = await eventually(
        async () => {
          const o = offsets(await (await fetch(`${url}/metrics`)).text());
          const all = [names.ref, names.steady, names.killed].map((n) => o.get(n));
          return all.every((v) => v !== undefined && Math.abs(v + offsetS) < 60) ? (all as number[]) : undefined;
        },
        10_000,
        `reports received at faked offset ${offsetS} s`,
      );
      const at = `at faked ${offsetS >= 0 ? '+' : ''}${offsetS} s`;
      // A quiet machine's transit (50 ms), or the slowest send of this run plus the metric's rounding.
      const tolerance = Math.max(OFFSET_TOLERANCE_S, slowestSendS + 0.002);
      t.ok(
        Math.abs((ref as number) + offsetS) <= tolerance,
        `${names.ref} clock offset ${at}: ${ref} s (want ${-offsetS} within ${tolerance.toFixed(3)} s)`,
      );
      // Real agents stamp hostdate before opening a fresh connection: their transit is longer and, on a loaded machine, less even.
      t.ok(
        agents.every((v) => Math.abs(v + offsetS) <= REAL_AGENT_TOLERANCE_S),
        `real agents' clock offset ${at}: ${agents.join(', ')} s (within ${REAL_AGENT_TOLERANCE_S} s)`,
      );
      await sleep(INTERVAL_SECONDS * 1000);
    };

    await sleep(1000);
    await phase(HOUR_S);
    await phase(0);
    await phase(-HOUR_S);
    const beforeKill = polls.length;
    t.same(
      polls.filter((p) => p.status !== 200).map((p) => p.agents.filter((a) => a.state !== 'ok').map((a) => `${a.name} ${a.state}`)),
      [],
      `all ${beforeKill} checks across the steps passed: no false outdated or absent`,
    );
    const maxAge = Math.max(...polls.flatMap((p) => p.agents.map((a) => a.last_report_age_seconds ?? 0)));
    t.ok(maxAge <= 2 * INTERVAL_SECONDS, `ages stayed on the real clock (largest ${maxAge} s)`);

    // A step and a death together: the age must still come from the monotonic clock.
    step(HOUR_S);
    killed.child.kill('SIGKILL');
    const killedAt = performance.now();
    const outdated = await eventually(
      async () => {
        const p = polls[polls.length - 1];
        return p && p.atMs > killedAt && p.agents.some((a) => a.name === names.killed && a.state === 'outdated') ? p : undefined;
      },
      OUTDATED_MS + 5000,
      `${names.killed} outdated`,
    );
    const seenAfterMs = outdated.atMs - killedAt;
    t.ok(
      seenAfterMs <= OUTDATED_MS + POLL_ALLOWANCE_MS,
      `${names.killed} seen outdated ${Math.round(seenAfterMs)} ms after the kill (limit ${OUTDATED_MS} ms + ${POLL_ALLOWANCE_MS} ms polling allowance)`,
    );
    const inconsistent: string[] = [];
    for (const p of polls.slice(beforeKill)) {
      for (const a of p.agents) {
        const age = a.last_report_age_seconds ?? 0;
        // The age is rounded to the millisecond: right at the boundary either state is right.
        const stale = age > 2 * INTERVAL_SECONDS;
        if (Math.abs(age - 2 * INTERVAL_SECONDS) > 0.001 && stale !== (a.state === 'outdated'))
          inconsistent.push(`${a.name} ${a.state} at age ${age} s`);
      }
    }
    t.same(inconsistent, [], "on every poll, outdated exactly when the exporter's own age is past 2 x interval");
    const killedAge = outdated.agents.find((a) => a.name === names.killed)?.last_report_age_seconds ?? Infinity;
    t.ok(killedAge <= OUTDATED_MS / 1000, `its age when first seen outdated: ${killedAge} s, within 2 x interval + 1 s`);
    const others = polls.slice(beforeKill).flatMap((p) => p.agents.filter((a) => a.name !== names.killed && a.state !== 'ok'));
    t.same(others, [], 'the other agents stay ok');
    t.equal(exporter.child.exitCode, null, 'the exporter kept running');
  },
);

t.test('etcd store: a step then an etcd blip does not age the records this exporter received by the step', async (t) => {
  if (!LIBFAKETIME) {
    t.fail('libfaketime.so.1 not found under /usr/lib/<triplet>/faketime/: the Debian package faketime is required');
    return;
  }
  // After an etcd blip the store reloads its records from etcd; their ages must not come from a
  // wall clock that stepped since they were received (here: +1 h would make them 1 h old), and a
  // report buffered during the blip is written back even when the clock says it is older.
  const etcd = await startEtcd(t);
  const member = etcd.members[0];
  if (!member) throw new Error('no etcd member');
  t.teardown(() => member.signal('SIGCONT'));
  const { url, step } = await fakedExporter(t, LIBFAKETIME, [
    ...etcdArgs(etcd, `/clock-${process.pid}`),
    '--expect',
    'agent-slow',
    '--etcd-timeout',
    '0.5',
  ]);
  const body = JSON.stringify({ report_interval: 30, nodename: 'node-slow', podname: 'agent-slow', hostdate: new Date().toISOString() });
  const posted = await fetch(`${url}/api/v1/agents/agent-slow`, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
  t.equal(posted.status, 200);
  const age = async (): Promise<{ status: number; age: number }> => {
    const res = await fetch(`${url}/api/v1/connectivity_check`);
    const agents = ((await res.json()) as { agents: CheckAgent[] }).agents;
    return { status: res.status, age: agents.find((a) => a.name === 'agent-slow')?.last_report_age_seconds ?? NaN };
  };
  for (const offset of [HOUR_S, -HOUR_S]) {
    step(offset);
    const before = await age();
    // Blind for 2 s: the watch and the puts time out, the store reloads from etcd once it answers.
    await member.signal('SIGSTOP');
    // Another agent's report meets the frozen etcd: the store goes blind and reloads afterwards.
    const uptime = offset + 7200; // a different report each time
    const trigger = JSON.stringify({
      report_interval: 30,
      nodename: 'node-other',
      podname: 'agent-other',
      hostdate: new Date().toISOString(),
      uptime,
    });
    t.equal(
      (await fetch(`${url}/api/v1/agents/agent-other`, { method: 'POST', body: trigger, headers: { 'Content-Type': 'application/json' } }))
        .status,
      200,
      'a report during the blip is buffered',
    );
    t.equal((await fetch(`${url}/readyz`)).status, 503, 'the store knows etcd is away');
    await sleep(1500);
    await member.signal('SIGCONT');
    await waitHealthy(etcd);
    await eventually(async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined), 20_000, 'reloaded from etcd');
    const after = await age();
    t.equal(after.status, 200, `faked ${offset} s, after the reload: connectivity_check passes (agent-slow age ${after.age} s)`);
    t.ok(
      after.age >= before.age && after.age < before.age + 10,
      `its age went on from ${before.age} s on the monotonic clock, not by the step (${after.age} s)`,
    );
    // The buffered report is the latest of agent-other even though its receipt time is an hour
    // before the stored one's (wall clock stepped back): written back, not skipped as older.
    const served = (await (await fetch(`${url}/api/v1/agents/agent-other`)).json()) as { uptime: number };
    const inEtcd = JSON.parse(await etcd.etcdctl(['get', `/clock-${process.pid}/agents/agent-other`, '--print-value-only'])) as {
      uptime: number;
    };
    t.same([served.uptime, inEtcd.uptime], [uptime, uptime], `the acknowledged report of agent-other (#${uptime}) is served and in etcd`);
  }
});

t.test('kubernetes store: a step then an API blip ages nothing by the step, and a report after a step back reaches the API', async (t) => {
  if (!LIBFAKETIME) {
    t.fail('libfaketime.so.1 not found under /usr/lib/<triplet>/faketime/: the Debian package faketime is required');
    return;
  }
  const kube = await FakeKube.start(t);
  const { url, step } = await fakedExporter(t, LIBFAKETIME, [
    ...storeArgs(kube),
    '--expect',
    'agent-slow',
    '--kubernetes-store-timeout',
    '1',
  ]);
  const post = async (nodename: string): Promise<number> => {
    const body = JSON.stringify({ report_interval: 30, nodename, podname: 'agent-slow', hostdate: new Date().toISOString() });
    return (await fetch(`${url}/api/v1/agents/agent-slow`, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } }))
      .status;
  };
  const age = async (): Promise<{ status: number; age: number }> => {
    const res = await fetch(`${url}/api/v1/connectivity_check`);
    const agents = ((await res.json()) as { agents: CheckAgent[] }).agents;
    return { status: res.status, age: agents.find((a) => a.name === 'agent-slow')?.last_report_age_seconds ?? NaN };
  };
  t.equal(await post('node-start'), 200);
  await eventually(async () => (shardEntries(kube).get('agent-slow')?.node === 'node-start' ? true : undefined), 5000, 'in the API');
  for (const offset of [HOUR_S, -HOUR_S, 0]) {
    step(offset);
    const node = `node-at-${offset}`;
    t.equal(await post(node), 200);
    await eventually(
      async () => (shardEntries(kube).get('agent-slow')?.node === node ? true : undefined),
      10_000,
      `faked ${offset} s: the report reaches the API`,
    );
    t.pass(`faked ${offset} s: the report received after the step is the one in the API`);
    const before = await age();
    // The API fails for 1.5 s: the watch ends, the store goes blind, then lists everything again.
    kube.failWith(503);
    await eventually(
      async () => ((await fetch(`${url}/readyz`)).status === 503 ? true : undefined),
      10_000,
      'the store knows the API is away',
    );
    await sleep(1500);
    kube.failWith(null);
    await eventually(async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined), 30_000, 'listed again');
    const after = await age();
    t.equal(after.status, 200, `faked ${offset} s, after the new list: connectivity_check passes (agent-slow age ${after.age} s)`);
    t.ok(
      after.age >= before.age && after.age < before.age + 20,
      `its age went on from ${before.age} s on the monotonic clock, not by the step (${after.age} s)`,
    );
  }
});
