// The benchmark harness runs (quick mode) so it never rots. Speed is not asserted here: the
// figures are for docs/performance.md, produced by a full `npm run bench`.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const main = fileURLToPath(new URL('../dist/bench/main.js', import.meta.url));

t.test('npm run bench -- --quick measures every figure', async (t) => {
  if (!existsSync(main)) return void t.fail(`${main} is missing: run "npm run build"`);
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [main, '--quick'], { timeout: 170_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
  t.equal(code, 0, stderr);
  t.match(stdout, /^\| original agent \| fresh \| [\d,]+ \| [\d,]+ \| [\d.]+ \|/m, 'ingest, fresh connections, against the ceiling');
  t.match(stdout, /^\| our agent \| keep-alive \| [\d,]+ \| [\d,]+ \| [\d.]+ \|/m, 'ingest with keep-alive, our payload');
  t.match(stdout, /^\| 500 \| [\d.]+ \| [\d.]+ \| [\d.]+ \| 0 \| [\d,]+ \/ [\d,]+ \|$/m, 'scale row: checks make no Kubernetes API calls');
  t.match(stdout, /\/metrics time ratio: [\d.]+/);
  t.match(stdout, /Agents at a 2 s interval with 10 peers each, over 3 s .*: RSS [\d,]+ MB .*CPU [\d.]+% of a core/);
  t.match(
    stdout,
    /^Every agent probed, each round: the exporter and 10 peers \(HTTP\), the API server \(TLS, Service address and DNS name\), a must-be-blocked target, DNS \(2 names\), 2 DNS replicas \(direct queries\), /m,
    'the agents ran with every probe on',
  );
});

t.test('npm run bench -- --status --quick measures the status page', async (t) => {
  if (!existsSync(main)) return void t.fail(`${main} is missing: run "npm run build"`);
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [main, '--status', '--quick'], { timeout: 170_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
  t.equal(code, 0, stderr);
  t.match(stdout, /^\| 200 \| [\d.]+ \| [\d.]+ \| <= 50 (met|MISSED) \| [\d.]+ \| [\d.]+ \| 0 \|$/m, 'status JSON, no Kubernetes API call');
  t.match(stdout, /first complete render [\d,]+ ms after the data arrived .* a live update [\d,]+ ms of main-thread time/);
});

t.test('npm run bench -- --kube-store --quick measures the Kubernetes store against the memory store', async (t) => {
  if (!existsSync(main)) return void t.fail(`${main} is missing: run "npm run build"`);
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [main, '--kube-store', '--quick'], { timeout: 170_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
  t.equal(code, 0, stderr);
  t.match(stdout, /^\| API writes\/s \(counted at the fake API\) \| 0 \| [\d.]+ \| \| <= 10 (met|MISSED) \|$/m, 'API writes/s');
  t.match(stdout, /^\| exporter RSS, MB \(median\) \| [\d,]+ \| [\d,]+ \| [\d.]+ \|/m, 'RSS of both');
  t.match(stdout, /^\| ingest, reports\/s \| [\d,]+ \| [\d,]+ \| [\d.]+ \|/m, 'ingest of both');
});
