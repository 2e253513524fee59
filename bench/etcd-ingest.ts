// Ingest with the etcd store against the memory store: reports/s of two exporters, same run, same
// load generator (wrk, keep-alive, 1,000 rotating agent names, the original agent's report), runs
// interleaved, medians. etcd is a real single member on loopback with its data in a temp dir.
// A run counts only if the etcd exporter stored everything (no store error, nothing queued):
// otherwise it would be measuring the outage queue, not etcd.
//
//   npm run build && node dist/bench/etcd-ingest.js [--seconds 10] [--runs 3] [--connections 32]

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '../test/helpers/ports.js';
import { fmt, median, run, type Server, startExporter, wrkRate } from './lib.js';

const FIXTURE = fileURLToPath(new URL('../../test/fixtures/original-agent/report-pod.json', import.meta.url));

async function startEtcd(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  if (process.arch !== 'x64') env.ETCD_UNSUPPORTED_ARCH = process.arch;
  const child = spawn(
    'etcd',
    [
      '--name',
      'bench',
      '--data-dir',
      join(dir, 'etcd'),
      '--listen-client-urls',
      url,
      '--advertise-client-urls',
      url,
      '--listen-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-cluster',
      `bench=http://127.0.0.1:${peer}`,
      '--log-level',
      'error',
      '--logger',
      'zap',
    ],
    { env, stdio: 'ignore' },
  );
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { url, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('etcd did not become healthy within 10 s (is the Debian package etcd-server installed?)');
}

function script(dir: string): string {
  const path = join(dir, 'post.lua');
  writeFileSync(
    path,
    `local f = io.open(${JSON.stringify(FIXTURE)}, "rb")
local body = f:read("*a")
f:close()
local headers = { ["Content-Type"] = "application/json" }
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/api/v1/agents/bench-agent-" .. (n % 1000), headers, body)
end
`,
  );
  return path;
}

/** Sum of the store error counters and the write-back queue, from /metrics. */
async function storeTrouble(s: Server): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(/^netchecker_store_(?:errors_total\{[^}]*\}|queued_writes) (\S+)$/gm)) sum += Number(m[1]);
  return sum;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      runs: { type: 'string', default: '3' },
      connections: { type: 'string', default: '32' },
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'netchecker-bench-etcd-'));
  const etcd = await startEtcd(dir);
  const servers: Server[] = [];
  const lua = script(dir);
  const load = async (s: Server): Promise<number> =>
    wrkRate(await run('wrk', ['-t', '1', '-c', String(values.connections), '-d', `${values.seconds}s`, '-s', lua, s.url]));
  const rates = { memory: [] as number[], etcd: [] as number[] };
  try {
    const memory = await startExporter([]);
    servers.push(memory);
    const etcdExporter = await startExporter(['--store', 'etcd', '--etcd-endpoints', etcd.url, '--etcd-prefix', '/bench']);
    servers.push(etcdExporter);
    for (let i = 0; i < Number(values.runs); i++) {
      rates.memory.push(await load(memory));
      rates.etcd.push(await load(etcdExporter));
      const trouble = await storeTrouble(etcdExporter);
      if (trouble > 0) throw new Error(`the etcd exporter had ${trouble} store errors or queued writes: the figure would not be etcd's`);
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    etcd.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
  const m = median(rates.memory);
  const e = median(rates.etcd);
  process.stdout.write(`ingest, keep-alive, ${values.connections} connections, ${values.seconds} s x ${values.runs} runs (medians)\n`);
  process.stdout.write(`  memory store: ${fmt(m)} reports/s   (runs: ${rates.memory.map((r) => fmt(r)).join(', ')})\n`);
  process.stdout.write(`  etcd store:   ${fmt(e)} reports/s   (runs: ${rates.etcd.map((r) => fmt(r)).join(', ')})\n`);
  process.stdout.write(`  etcd / memory: ${fmt(e / m, 2)}\n`);
}

await main();
