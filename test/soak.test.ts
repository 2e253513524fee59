// The SLO and soak harnesses (bench/slo.ts, bench/soak.ts) in their quick form, so they never
// rot. Correctness only, no speed: every report answered 200, and after 10% of the agents were
// replaced each cycle and the report TTL passed, no series and no stored record is left over
// from a replaced agent. The figures themselves come from a full run (docs/performance.md).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const main = fileURLToPath(new URL('../dist/bench/main.js', import.meta.url));

async function bench(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string; result: Record<string, unknown> | null }> {
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [main, ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
  const line = /^RESULT (.*)$/m.exec(r.stdout)?.[1];
  return { ...r, result: line ? (JSON.parse(line) as Record<string, unknown>) : null };
}

t.test('npm run bench -- --soak --quick: agents replaced in 10% batches leave no series and no record behind', async (t) => {
  if (!existsSync(main)) return void t.fail(`${main} is missing: run "npm run build"`);
  const { code, stdout, stderr, result: r } = await bench(['--soak', '--quick']);
  t.equal(code, 0, stderr);
  if (!r) return void t.fail(`no RESULT line in:\n${stdout}`);
  t.ok(Number(r.replaced) >= Number(r.agents) * 0.3, `${Number(r.replaced)} agents replaced`);
  t.equal(r.errors, 0, `every report answered 200 ${JSON.stringify(r.failures)}`);
  t.equal(r.seriesEnd, r.seriesBaseline, 'series count back to the baseline once the TTL passed');
  t.equal(r.records, r.live, 'stored records equal the live agents');
  t.equal(r.live, r.agents);
  t.match(stdout, /^\| RSS slope over \d+ samples during the churn, MB\/h \| -?[\d,.]+ \|/m, 'the RSS slope is measured');
  t.match(stdout, /^\| RSS slope over the second half \(after the warm-up\), MB\/h \| -?[\d,.]+ \| <= 2 /m, 'and after the warm-up');
  const tenths = r.rssByTenthMb as number[];
  t.ok(tenths.length > 0 && tenths.every((mb) => mb > 10 && mb < 10_000), `RSS by tenth of the churn: ${tenths.join(', ')} MB`);
});

t.test('npm run bench -- --slo --quick: every report answered, server-side figures measured', async (t) => {
  if (!existsSync(main)) return void t.fail(`${main} is missing: run "npm run build"`);
  const { code, stdout, stderr, result: r } = await bench(['--slo', '--quick']);
  t.equal(code, 0, stderr);
  if (!r) return void t.fail(`no RESULT line in:\n${stdout}`);
  t.equal(r.errors, 0, `every report answered 200 ${JSON.stringify(r.failures)}`);
  t.ok(Number(r.ok) > 0);
  t.match(
    stdout,
    /^\| server-side p50 \/ p99 \/ max, ms \| [\d.]+ \/ [\d.]+ \/ [\d,.]+ \|/m,
    'server-side latency measured in the exporter',
  );
  t.match(stdout, /^\| event-loop delay p99 \/ max, ms \| [\d.]+ \/ [\d,.]+ \|/m, 'event-loop delay measured in the exporter');
});
