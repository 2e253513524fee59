// Ingest: reports/s into the exporter (memory store) and into the bare ceiling server, same run,
// same load generator (wrk, in its own process), with a fresh connection per report as the
// original agent does, and with keep-alive. Runs are interleaved; each figure is a median.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, median, run, type Server, startExporter, startServer, wrkRate, wrkRequests } from './lib.js';

export interface IngestRow {
  payload: string;
  connection: 'fresh' | 'keep-alive';
  exporterRps: number;
  ceilingRps: number;
  ratio: number;
  /**
   * CPU time (user + system) per report of each server process. The machine's other load moves
   * the rates; it moves these much less, so they show where the gap is.
   */
  exporterCpuUs: number;
  ceilingCpuUs: number;
}

/** wrk script: POST the body to /api/v1/agents/agent-N for 1,000 rotating agent names. */
function script(dir: string, bodyFile: string, fresh: boolean): string {
  const path = join(dir, fresh ? 'fresh.lua' : 'keepalive.lua');
  writeFileSync(
    path,
    `local f = io.open(${JSON.stringify(bodyFile)}, "rb")
local body = f:read("*a")
f:close()
local headers = { ["Content-Type"] = "application/json"${fresh ? ', ["Connection"] = "close"' : ''} }
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/api/v1/agents/bench-agent-" .. (n % 1000), headers, body)
end
`,
  );
  return path;
}

export async function benchIngest(payloads: Record<string, string>, opts: { seconds: number; runs: number }): Promise<IngestRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'netchecker-bench-'));
  const exporter = await startExporter([]);
  const ceiling = await startServer([fileURLToPath(new URL('./ceiling.js', import.meta.url))]);
  const rows: IngestRow[] = [];
  try {
    for (const [payload, body] of Object.entries(payloads)) {
      const bodyFile = join(dir, `${payload}.json`);
      writeFileSync(bodyFile, body);
      for (const fresh of [true, false]) {
        const lua = script(dir, bodyFile, fresh);
        const rates = { exporter: [] as number[], ceiling: [] as number[] };
        const cpu = { exporter: [] as number[], ceiling: [] as number[] };
        const load = async (s: Server, side: 'exporter' | 'ceiling'): Promise<void> => {
          const pid = s.child.pid as number;
          const cpu0 = cpuSeconds(pid);
          const out = await run('wrk', ['-t', '1', '-c', fresh ? '16' : '32', '-d', `${opts.seconds}s`, '-s', lua, s.url]);
          rates[side].push(wrkRate(out));
          cpu[side].push(((cpuSeconds(pid) - cpu0) * 1e6) / wrkRequests(out));
        };
        for (let i = 0; i < opts.runs; i++) {
          await load(exporter, 'exporter');
          await load(ceiling, 'ceiling');
        }
        const exporterRps = median(rates.exporter);
        const ceilingRps = median(rates.ceiling);
        rows.push({
          payload,
          connection: fresh ? 'fresh' : 'keep-alive',
          exporterRps,
          ceilingRps,
          ratio: exporterRps / ceilingRps,
          exporterCpuUs: median(cpu.exporter),
          ceilingCpuUs: median(cpu.ceiling),
        });
      }
    }
  } finally {
    await Promise.all([exporter.stop(), ceiling.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
