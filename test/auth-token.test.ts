// --auth token: a shared secret from a file, re-read when the file changes; and `netchecker
// local`, which runs in this mode with a secret generated per run and handed to its agents.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseExporterConfig } from '../exporter/config.js';
import { startExporter } from '../exporter/main.js';
import { createLogger } from '../lib/log.js';
import { eventually, spawnCli } from './helpers/cli.js';
import { postReport, report, sample, startTestExporter } from './helpers/exporter.js';

const NAME = 'netchecker-agent-t1';
const SECRET = 'first-secret-0123456789abcdef';

async function post(url: string, auth: string | undefined): Promise<{ status: number; error: string | undefined }> {
  const res = await postReport(url, NAME, report({ podname: NAME }), {
    'Content-Type': 'application/json',
    ...(auth === undefined ? {} : { Authorization: auth }),
  });
  const text = await res.text();
  return { status: res.status, error: text ? (JSON.parse(text) as { error: string }).error : undefined };
}

t.test('the shared secret: right 200, wrong or missing 401 and nothing stored; a new secret in the file takes over', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), `netchecker-auth-${process.pid}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'token');
  writeFileSync(file, `${SECRET}\n`, { mode: 0o600 });
  const ex = await startTestExporter(t, ['--auth', 'token', '--auth-token-file', file]);

  t.same(await post(ex.url, undefined), { status: 401, error: 'auth_missing' });
  t.same(await post(ex.url, `Bearer ${SECRET}x`), { status: 401, error: 'auth_invalid' });
  t.same(await post(ex.url, `Bearer ${SECRET.slice(0, 5)}`), { status: 401, error: 'auth_invalid' }, 'a prefix of the secret');
  t.same(await post(ex.url, `Token ${SECRET}`), { status: 401, error: 'auth_malformed' });
  t.equal((await fetch(`${ex.url}/api/v1/agents/${NAME}`)).status, 404, 'nothing stored');
  const metrics = await (await fetch(`${ex.url}/metrics`)).text();
  t.equal(sample(metrics, 'netchecker_reports_rejected_total{reason="auth_invalid"}'), 2);
  t.equal(sample(metrics, 'netchecker_reports_rejected_total{reason="auth_missing"}'), 1);

  t.same(await post(ex.url, `Bearer ${SECRET}`), { status: 200, error: undefined });
  t.equal((await fetch(`${ex.url}/api/v1/agents/${NAME}`)).status, 200, 'stored');

  const next = 'second-secret-0123456789abcdef';
  writeFileSync(`${file}.new`, next);
  const { renameSync } = await import('node:fs');
  renameSync(`${file}.new`, file); // an atomic replace, as a Secret volume update is
  await eventually(
    async () => ((await post(ex.url, `Bearer ${next}`)).status === 200 ? true : undefined),
    10_000,
    'the new secret accepted (re-read within 2 s)',
  );
  t.same(await post(ex.url, `Bearer ${SECRET}`), { status: 401, error: 'auth_invalid' }, 'the old one no longer');
  t.ok(ex.logs.some((l) => l.msg === 'auth token file changed; new secret in use'));

  writeFileSync(file, 'short');
  await new Promise((r) => setTimeout(r, 2500));
  t.same(await post(ex.url, `Bearer ${next}`), { status: 200, error: undefined }, 'an unusable file keeps the previous secret');
});

t.test('an exporter with an unusable secret file does not start', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), `netchecker-auth-${process.pid}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = createLogger('error', {}, () => {});
  const start = async (file: string): Promise<string> => {
    const parsed = parseExporterConfig(['--listen', '127.0.0.1:0', '--auth', 'token', '--auth-token-file', file]);
    if (!parsed.ok || parsed.help) throw new Error('config');
    return startExporter(parsed.config, log).then(
      async (ex) => (await ex.close(), 'started'),
      (e: unknown) => (e as Error).message,
    );
  };
  t.equal(await start(join(dir, 'missing')), `--auth-token-file ${join(dir, 'missing')}: ENOENT`);
  writeFileSync(join(dir, 'short'), 'abc');
  t.match(await start(join(dir, 'short')), /at least 16 characters/);
});

t.test('netchecker local: agents report with the generated secret; a report without it gets 401', async (t) => {
  const local = spawnCli(t, ['local', '--listen', '127.0.0.1:0', '--interval', '1']);
  const [, url] = (await local.waitFor(/exporter (http:\/\/127\.0\.0\.1:\d+) \(pid \d+\)/)) as [string, string];
  await eventually(
    async () => ((await fetch(`${url}/api/v1/connectivity_check`)).status === 200 ? true : undefined),
    15_000,
    'both agents ok',
  );
  const r = await postReport(url, 'netchecker-agent-local', report({ podname: 'netchecker-agent-local' }));
  t.equal(r.status, 401);
  t.equal(((await r.json()) as { error: string }).error, 'auth_missing');
  local.child.kill('SIGINT');
  t.equal(await local.exited(), 0);
  t.notMatch(local.stderr, /"msg":"agent is outdated"/, 'the agents never stopped reporting');
});
