// `npm run bench [-- --quick]`: ingest, scale and agent benchmarks, printed as a table with the
// targets of design.md; the full run also writes docs/performance.md. --quick uses small sizes
// and short windows, asserts nothing about speed, and runs in the test suite so the harness
// never rots.

import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { buildReport, networkProbes } from '../agent/report.js';
import { benchAgent } from './agent.js';
import { benchIngest } from './ingest.js';
import { runKubeStoreBench } from './kube-store.js';
import { fmt, met } from './lib.js';
import { benchScale } from './scale.js';
import { keptSloSection, runSlo } from './slo.js';
import { runSoak } from './soak.js';
import { runStatusBench } from './status.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

function ourAgentReport(): string {
  const ping = {
    url: 'http://netchecker-service:8081/api/v1/ping',
    result: 'ok' as const,
    httpCode: 200,
    phasesMs: { dns: 0.4, connect: 0.3, first_byte: 1.1, transfer: 0.1, total: 1.9 },
  };
  return JSON.stringify(
    buildReport({
      config: { intervalSeconds: 15, nodeName: 'node-1', name: 'netchecker-agent-abcde', network: 'pod', zeroExtenderLength: 1500 },
      fields: { nslookup: { 'netchecker-service': ['10.96.0.10'] }, network_probes: networkProbes([], ping) },
      interfaces: os.networkInterfaces(),
      nowMs: Date.now(),
      nodeUptimeSeconds: 1250,
      startedMs: Date.now() - 60_000,
    }),
  );
}

async function agentSection(plan: { agentInterval: number; agentWindow: number }, say: (line?: string) => void): Promise<void> {
  say('## Agent');
  say();
  const a = await benchAgent(plan.agentInterval, plan.agentWindow);
  say(
    `Agents at a ${a.intervalSeconds} s interval with ${a.peers} peers each, over ${a.windowSeconds} s (median of ${a.peers + 1} agents): RSS ${fmt(a.rssBytes / 1e6)} MB (target <= 70), CPU ${fmt(a.cpuPercent, 2)}% of a core (target <= 1 at 15 s).`,
  );
  say();
  say(
    `Every agent probed, each round: ${a.probes.join(', ')}; each against a local endpoint (bench/agent.ts). Failed results in the last round: ${a.failedResults}.`,
  );
  say();
  say(
    `A Node process that does nothing has an RSS of ${fmt(a.bareNodeRssBytes / 1e6)} MB here, mostly pages of the node binary that every Node process on the machine shares; the agent's own share is the difference.`,
  );
}

async function main(): Promise<number> {
  const quick = process.argv.includes('--quick');
  // The ingest SLO and the soak run on their own (minutes each): --slo, --soak; see slo.ts, soak.ts.
  // The status page's figures too (a browser): --status, see status.ts.
  if (process.argv.includes('--slo')) return runSlo(process.argv.slice(2), quick);
  if (process.argv.includes('--soak')) return runSoak(process.argv.slice(2), quick);
  if (process.argv.includes('--status')) return runStatusBench(quick);
  // The Kubernetes store against the memory store at 10,000 agents (a minute and a half): --kube-store.
  if (process.argv.includes('--kube-store')) return runKubeStoreBench(quick);
  // The agent section alone (about a minute and a half at the full plan), printed, no file written: --agent.
  const agentOnly = process.argv.includes('--agent');
  const plan = quick
    ? { seconds: 1, runs: 1, sizes: [100, 500], samples: 3, rssTailMs: 500, agentInterval: 2, agentWindow: 3 }
    : { seconds: 8, runs: 3, sizes: [1000, 5000, 10000], samples: 9, rssTailMs: 10_000, agentInterval: 15, agentWindow: 60 };
  const print = (line = ''): void => void process.stdout.write(`${line}\n`);
  if (agentOnly) return agentSection(plan, print).then(() => 0);
  const payloads = {
    'original agent': readFileSync(`${root}test/fixtures/original-agent/report-hostnet.json`, 'utf8'),
    'our agent': ourAgentReport(),
  };
  const out: string[] = [];
  const say = (line = ''): void => {
    out.push(line);
    process.stdout.write(`${line}\n`);
  };

  say('## Ingest (memory store), reports/s');
  say();
  say('| payload | connection | exporter | bare node:http | ratio | target | CPU µs per report: exporter / bare |');
  say('|---|---|---|---|---|---|---|');
  for (const r of await benchIngest(payloads, plan)) {
    const target = r.connection === 'fresh' ? 0.7 : 0.5;
    say(
      `| ${r.payload} | ${r.connection} | ${fmt(r.exporterRps)} | ${fmt(r.ceilingRps)} | ${fmt(r.ratio, 2)} | >= ${target} ${met(r.ratio >= target)} | ${fmt(r.exporterCpuUs)} / ${fmt(r.ceilingCpuUs)} |`,
    );
  }
  say();
  say(
    "CPU µs per report is the CPU time (user + system) each server process spent per answered report. It moves less than the rates with the load on the machine, and shows what the exporter adds to the bare server: reading the report as JSON, checking it, storing it and rendering the agent's series.",
  );
  say();
  say('## Scale (every agent expected through the fake Kubernetes API and reporting a full hostnet report)');
  say();
  say(
    '| agents | /metrics median ms | /metrics MB | connectivity_check median ms | API calls during the checks | exporter RSS MB, median / max |',
  );
  say('|---|---|---|---|---|---|');
  // The deploy/ interval (15 s), not the recording's 2 s: otherwise every agent turns outdated a
  // few seconds in, and the scrapes measure that mass re-render instead of the steady state.
  const scaleBody = payloads['original agent'].replace('"report_interval":2,', '"report_interval":15,');
  const scale = await benchScale(plan.sizes, scaleBody, plan.samples, plan.rssTailMs);
  for (const r of scale)
    say(
      `| ${fmt(r.agents)} | ${fmt(r.metricsMs, 1)} | ${fmt(r.metricsBytes / 1e6, 1)} | ${fmt(r.checkMs, 2)} | ${r.checkApiCalls} | ${fmt(r.rssBytes / 1e6)} / ${fmt(r.rssMaxBytes / 1e6)} |`,
    );
  const small = scale[0];
  const large = scale[scale.length - 1];
  if (small && large) {
    say(
      `\n${fmt(large.agents)}/${fmt(small.agents)} /metrics time ratio: ${fmt(large.metricsMs / small.metricsMs, 1)} (agents ratio ${fmt(large.agents / small.agents)}; target <= 12 for 10k/1k)`,
    );
    say();
    say(
      `At ${fmt(large.agents)} agents: /metrics ${fmt(large.metricsMs, 1)} ms (target <= 100, ${met(large.metricsMs <= 100)}); connectivity_check ${fmt(large.checkMs, 2)} ms (target <= 10, ${met(large.checkMs <= 10)}); exporter RSS median ${fmt(large.rssBytes / 1e6)} MB, max ${fmt(large.rssMaxBytes / 1e6)} MB (target <= 300: median ${met(large.rssBytes <= 300e6)}, max ${met(large.rssMaxBytes <= 300e6)}).`,
    );
    say();
    say(
      "The reports are the original agent's with the 15 s interval of deploy/, so every agent stays `ok` while measured. The RSS is sampled every 250 ms from the first scrape until 10 s after the last check; the exporter runs with the Node flags of its container (`EXPORTER_NODE_FLAGS` in bench/lib.ts) and its default `--heap-growth`. The RSS with reports flowing is in the SLO section below.",
    );
  }
  say();
  await agentSection(plan, say);

  if (!quick) {
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    writeFileSync(
      `${root}docs/performance.md`,
      [
        '# Performance',
        '',
        `Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} x ${cpu}, ${fmt(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node ${process.versions.node}.`,
        'Load from wrk (one thread, its own process) on loopback; exporter and ceiling are separate processes; each figure is the median of the runs.',
        '',
        ...out,
        '',
        ...keptSloSection(`${root}docs/performance.md`),
      ].join('\n'),
    );
  }
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
