// The round's deadline reaches every probe of the table: with a per-probe timeout far beyond it,
// probes of targets that never answer (a silent resolver, an HTTP server and a peer that accept
// and say nothing, a ping that hangs) end at the deadline as timeouts, and the round returns.
import dgram from 'node:dgram';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import t, { type Test } from 'tap';
import { parseAgentConfig } from '../agent/config.js';
import { probeIcmp } from '../agent/probes/icmp.js';
import { ProbeRound } from '../agent/probes/round.js';
import { createLogger } from '../lib/log.js';
import { startFakeExporter } from './helpers/agent-server.js';

const TIMEOUT_S = 20;
const DEADLINE_MS = 500;

/** A TCP server that accepts and never answers; a UDP socket that reads and never answers. */
async function silentTargets(t: Test): Promise<{ tcp: number; udp: number }> {
  const held: net.Socket[] = [];
  const tcp = net.createServer((s) => held.push(s));
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  t.teardown(async () => {
    for (const s of held) s.destroy();
    udp.close();
    await new Promise<void>((r) => tcp.close(() => r()));
  });
  return { tcp: (tcp.address() as net.AddressInfo).port, udp: udp.address().port };
}

/** A `ping` first on the PATH that answers the loopback check but hangs on don't-fragment echoes. */
async function hangingPing(t: Test): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'netchecker-hang-'));
  await writeFile(path.join(dir, 'ping'), '#!/bin/sh\ncase "$*" in *"-M do"*) exec sleep 60;; esac\nexec /usr/bin/ping "$@"\n');
  await chmod(path.join(dir, 'ping'), 0o755);
  const saved = process.env.PATH;
  process.env.PATH = `${dir}:${saved ?? ''}`;
  t.teardown(async () => {
    process.env.PATH = saved;
    await rm(dir, { recursive: true, force: true });
  });
}

t.test('every probe is cut at the round deadline, long before its own timeout', async (t) => {
  const silent = await silentTargets(t);
  await hangingPing(t);
  const hangingPeer = { name: 'agent-b', node: 'node-b', network: 'pod' as const, address: `127.0.0.1:${silent.tcp}` };
  const fake = await startFakeExporter({ peers: () => ({ peers: [hangingPeer] }) });
  t.teardown(() => fake.close());
  const argv = ['--server', fake.url, '--name', 'agent-a', '--interval', '30', '--timeout', String(TIMEOUT_S), '--listen', '127.0.0.1:0'];
  argv.push('--dns-server', `127.0.0.1:${silent.udp}`, '--dns-names', 'kubernetes.default.svc.cluster.local');
  argv.push('--probe-urls', `http://127.0.0.1:${silent.tcp}/`, '--mtu-sizes', '1200');
  const parsed = parseAgentConfig(argv, {});
  if (!parsed.ok || parsed.help) throw new Error(parsed.ok ? 'help' : parsed.error);
  const probes = await ProbeRound.start(parsed.config, createLogger('error'));
  t.teardown(() => probes.stop());

  // A round fetches the peer list for the next; on a busy machine that may take more than one
  // short round. The round measured is the first that probes the peer (within the probe timeout).
  let started = performance.now();
  let r = await probes.collect(started + DEADLINE_MS);
  for (let rounds = 1; !r.peers?.length && rounds * DEADLINE_MS < TIMEOUT_S * 1000; rounds++) {
    started = performance.now();
    r = await probes.collect(started + DEADLINE_MS);
  }
  const tookMs = performance.now() - started;
  t.ok(tookMs < TIMEOUT_S * 1000, `the round ended at its deadline (${Math.round(tookMs)} ms), not at the ${TIMEOUT_S} s probe timeout`);
  t.match(r.dns, [{ result: 'timeout', latency_ms: null }], 'the silent resolver: timeout');
  t.match(
    r.network_probes,
    [{ URL: `http://127.0.0.1:${silent.tcp}/`, Result: 'timeout', HTTPCode: 0 }, { Result: 'ok' }],
    'the silent URL: timeout; the exporter answered',
  );
  t.match(r.peers, [{ name: 'agent-b', result: 'timeout', lost: 3 }], 'the silent peer: timeout');
  t.match(r.path_mtu, { exporter: null, peers: null }, 'the hanging pings were stopped: no size passed');
});

t.test('an echo stopped by the round reads as a timeout', async (t) => {
  await hangingPing(t);
  const started = performance.now();
  const r = await probeIcmp('127.0.0.1', { timeoutMs: TIMEOUT_S * 1000, packetBytes: 1200, signal: AbortSignal.timeout(DEADLINE_MS) });
  t.ok(performance.now() - started < TIMEOUT_S * 1000, 'stopped at the signal');
  t.same([r.result, r.rttMs], ['timeout', null]);
});
