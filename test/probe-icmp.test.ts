// ICMP through the real system ping on loopback: echo, don't-fragment sizes for the path MTU, and
// "unavailable" (not failure) for an agent without the permission to ping.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { classifyPing, icmpAvailable, probeIcmp } from '../agent/probes/icmp.js';
import { hostOf, probePathMtu } from '../agent/probes/mtu.js';

t.test('echo on loopback', async (t) => {
  const r = await probeIcmp('127.0.0.1', { timeoutMs: 1000 });
  if (r.result === 'unavailable') t.fail(`ping is missing or not permitted (Debian package iputils-ping): ${r.error}`);
  t.equal(r.result, 'ok');
  t.ok(r.rttMs !== null && r.rttMs >= 0);
  t.equal(await icmpAvailable(1000), true);
});

t.test('path MTU: the largest don\'t-fragment size that passes', async (t) => {
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
  const script = `import(${JSON.stringify(module)}).then(async (m) => console.log(JSON.stringify([await m.icmpAvailable(1000), (await m.probeIcmp('127.0.0.1', { timeoutMs: 1000 })).result])))`;
  // As nobody with every capability dropped, ping's file capability cannot apply.
  const out = await new Promise<string>((resolve) =>
    execFile('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', process.execPath, ...process.execArgv, '-e', script], { encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve(err ? `error: ${err.message} ${stderr}` : stdout.trim()),
    ),
  );
  t.equal(out, '[false,"unavailable"]');
});

t.test('a peer\'s path MTU drops only when seen twice in a row', async (t) => {
  const { confirmedMtu } = await import('../agent/probes/round.js');
  t.same(
    [undefined, [null, 1500], [1500, 1400], [1400, 1400], [1400, 1500], [1500, null], [null, null]].map((h) => confirmedMtu(h as [number | null, number | null] | undefined)),
    [null, 1500, 1500, 1400, 1500, 1500, null],
  );
});
