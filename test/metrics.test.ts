// /metrics as Prometheus reads it: promtool accepts it, a golden file pins the agent series,
// and docs/metrics.md lists exactly the families the code declares.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { dnsReplicaFamilies } from '../exporter/metrics/dns-replicas.js';
import { agentFamilies, agentsFamily, expectedFamily } from '../exporter/metrics/families.js';
import { legacyFamilies } from '../exporter/metrics/legacy.js';
import { probeFamilies, rttFamilyName } from '../exporter/metrics/probes.js';
import { SelfMetrics } from '../exporter/metrics/self.js';
import { FakeClock, originalReports, postReport, report, startTestExporter } from './helpers/exporter.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const golden = `${root}test/golden/agent-series.prom`;

function promtool(text: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool is required (Debian package prometheus): ${r.error.message}`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

async function populated(t: Test, args: string[] = []) {
  const clock = new FakeClock();
  const ex = await startTestExporter(
    t,
    ['--expect', 'netchecker-agent-x7k2p,netchecker-agent-hostnet-q9z4m,netchecker-agent-never', '--startup-grace', '0', ...args],
    clock,
  );
  for (const { name, body } of originalReports()) await postReport(ex.url, name, body);
  const ours = report({
    nodename: 'node-b',
    network: 'host',
    hostdate: new Date(clock.wall + 250).toISOString(),
    network_probes: [
      {
        URL: 'http://netchecker-service:8081/api/v1/ping',
        ConnectionResult: 1,
        HTTPCode: 200,
        Total: 2,
        ContentTransfer: 0,
        TCPConnection: 1,
        DNSLookup: 0,
        Connect: 1,
        ServerProcessing: 1,
      },
    ],
  });
  await postReport(ex.url, 'netchecker-agent-hostnet-ours', ours);
  clock.advance(7); // the fixtures' 2 s interval: outdated, 2 missed
  return ex;
}

t.test('the agent series match the golden file', async (t) => {
  const ex = await populated(t);
  await ex.monitor.fresh();
  const text = ex.monitor.metricsText();
  if (process.env.UPDATE_GOLDEN) writeFileSync(golden, text);
  t.equal(text, readFileSync(golden, 'utf8'), 'UPDATE_GOLDEN=1 rewrites it after an intended change');
});

t.test('promtool check metrics accepts the whole exposition', async (t) => {
  const off = await populated(t, ['--no-legacy-metrics']);
  const plain = await (await fetch(`${off.url}/metrics`)).text();
  t.notMatch(plain, /^ncagent_/m, '--no-legacy-metrics turns the legacy series off');
  t.same(promtool(plain), { status: 0, out: '' }, 'netchecker_ series: no problem at all');

  const on = await populated(t);
  const full = await (await fetch(`${on.url}/metrics`)).text();
  const r = promtool(full);
  const problems = r.out.split('\n').filter((l) => l.trim() !== '');
  t.ok(problems.length > 0);
  for (const p of problems)
    t.match(p, /^ncagent_http_probe_\w+_ms metric names should not contain abbreviated units$/, 'only the legacy names are linted');
});

t.test('docs/metrics.md lists exactly the declared families', async (t) => {
  const doc = readFileSync(`${root}docs/metrics.md`, 'utf8');
  const documented = new Set([...doc.matchAll(/^\| `((?:netchecker|ncagent)_\w+)` \|/gm)].map((m) => m[1] as string));
  const selfNames = (await new SelfMetrics().registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('netchecker_'));
  const declared = new Set(
    [...agentFamilies, agentsFamily, expectedFamily, ...legacyFamilies, ...probeFamilies, ...dnsReplicaFamilies]
      .map((f) => f.name)
      .concat(selfNames, rttFamilyName),
  );
  t.same([...documented].sort(), [...declared].sort());

  const perAgent = Number(/^## Series per agent: (\d+)$/m.exec(doc)?.[1]);
  const ex = await populated(t);
  await ex.monitor.fresh();
  const text = ex.monitor.metricsText();
  const count = text
    .split('\n')
    .filter((l) => l.startsWith('netchecker_agent') && l.includes('agent="netchecker-agent-hostnet-ours"')).length;
  t.equal(count, perAgent, 'documented series per reporting agent');
});
