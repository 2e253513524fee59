// Scale: N agents with full reports in one exporter; the time and size of /metrics, the latency
// of connectivity_check with N expected agents, and the exporter's memory.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { median, rssBytes, startExporter } from './lib.js';

export interface ScaleRow {
  agents: number;
  metricsMs: number;
  metricsBytes: number;
  checkMs: number;
  rssBytes: number;
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 32 });

function call(url: string, method: string, body?: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: keepAlive, headers: body ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length)).on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function timed(url: string, times: number): Promise<{ ms: number; bytes: number }> {
  const ms: number[] = [];
  let bytes = 0;
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    bytes = (await call(url, 'GET')).bytes;
    ms.push(performance.now() - t0);
  }
  return { ms: median(ms), bytes };
}

/** One exporter per size; every agent expected (static list) and reporting `body`. */
export async function benchScale(sizes: readonly number[], body: string, samples: number): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'netchecker-bench-'));
  for (const n of sizes) {
    const names = Array.from({ length: n }, (_, i) => `netchecker-agent-${i}`);
    const file = join(dir, `expect-${n}.txt`);
    writeFileSync(file, `${names.join('\n')}\n`);
    const exporter = await startExporter(['--expect-file', file, '--startup-grace', '0']);
    try {
      for (let i = 0; i < n; i += 32) {
        const batch = names.slice(i, i + 32).map(async (name) => {
          const r = await call(`${exporter.url}/api/v1/agents/${name}`, 'POST', body.replace(/"nodename":"[^"]*"/, `"nodename":"node-${name.slice(18)}"`));
          if (r.status !== 200) throw new Error(`report for ${name}: HTTP ${r.status}`);
        });
        await Promise.all(batch);
      }
      const metrics = await timed(`${exporter.url}/metrics`, samples);
      const check = await timed(`${exporter.url}/api/v1/connectivity_check`, samples * 5);
      rows.push({ agents: n, metricsMs: metrics.ms, metricsBytes: metrics.bytes, checkMs: check.ms, rssBytes: rssBytes(exporter.child.pid as number) });
    } finally {
      await exporter.stop();
    }
  }
  return rows;
}
