// What is acknowledged is keepable: a report the etcd store cannot hold is refused with 413 before
// it is acknowledged, the default body limit follows etcd's request limit, and a write etcd
// refuses for its size is a 413, never a 200, and does not wedge the replica.
import t from 'tap';
import { parseExporterConfig } from '../exporter/config.js';
import { etcdArgs, type ExporterProcess, spawnExporter, startEtcd } from './helpers/etcd.js';
import { postReport, report, sample } from './helpers/exporter.js';

const MiB = 1024 * 1024;
/** The store tries etcd (and reloads when it must) once a second. */
const STEP_MS = 1000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const status = async (url: string): Promise<number> => (await fetch(url)).status;
const metrics = async (ex: ExporterProcess): Promise<string> => (await fetch(`${ex.url}/metrics`)).text();
const storeErrors = (text: string): Record<string, number> =>
  Object.fromEntries(
    ['put', 'delete', 'load', 'watch', 'lease'].map((op) => [op, sample(text, `netchecker_store_errors_total{op="${op}"}`) ?? 0]),
  );
const loads = (ex: ExporterProcess): number => ex.logs().filter((l) => l.msg === 'loaded the agents from etcd').length;

/** A valid report of about `bytes` bytes: interfaces of 1,000 full-length IPv6 addresses (fewer values than the decoder's cap). */
function reportOfSize(bytes: number): string {
  const addr = (i: number): string =>
    `fd00:0000:0000:0000:0000:0000:${(i >>> 16).toString(16).padStart(4, '0')}:${(i & 0xffff).toString(16).padStart(4, '0')}`;
  const count = Math.ceil((bytes - report().length) / (addr(0).length + 3));
  const ips: Record<string, string[]> = {};
  for (let i = 0; i < count; i++) (ips[`if${Math.floor(i / 1000)}`] ??= []).push(addr(i));
  return report({ report_interval: 60, ips });
}

const stored = async (etcd: { etcdctl(args: string[]): Promise<string> }, key: string): Promise<string> =>
  (await etcd.etcdctl(['get', key, '--print-value-only'])).trim();

t.test('the default body limit follows the store', async (t) => {
  const etcd = ['--store', 'etcd', '--etcd-endpoints', 'http://127.0.0.1:2379'];
  const rows: Array<[string[], number]> = [
    [[], 4 * MiB],
    [etcd, 1.5 * MiB - 2048],
    [[...etcd, '--etcd-max-request-bytes', String(MiB)], MiB - 2048],
    [[...etcd, '--max-body-bytes', String(4 * MiB)], 4 * MiB],
    [['--max-body-bytes', '2048'], 2048],
  ];
  for (const [args, want] of rows) {
    const c = parseExporterConfig(args);
    t.equal(c.ok && !c.help ? c.config.maxBodyBytes : c, want, args.join(' ') || '(defaults)');
  }
  const bad = parseExporterConfig([...etcd, '--etcd-max-request-bytes', '1000']);
  t.same(bad, { ok: false, error: '--etcd-max-request-bytes must be an integer from 65536 to 268435456, got 1000' });
});

t.test('etcd with its default request limit: what gets 200 is kept, what it cannot hold gets 413', async (t) => {
  const etcd = await startEtcd(t);
  const args = [...etcdArgs(etcd, '/limits'), '--etcd-timeout', '1'];
  const a = await spawnExporter(t, args);
  const big = reportOfSize(1.7e6);
  const kept = reportOfSize(1.4e6);
  t.ok(Buffer.byteLength(big) > 1.7e6 && Buffer.byteLength(kept) < 1.41e6, 'bodies of 1.7 and 1.4 MB');

  let res = await postReport(a.url, 'agent-big', big);
  t.equal(res.status, 413, '1.7 MB: 413');
  t.match(await res.json(), { error: 'body_too_large' });
  t.equal(await stored(etcd, '/limits/agents/agent-big'), '', 'nothing stored');
  t.equal(await status(`${a.url}/api/v1/agents/agent-big`), 404);

  res = await postReport(a.url, 'agent-kept', kept);
  t.equal(res.status, 200, '1.4 MB: etcd holds it, so 200');
  t.ok((await stored(etcd, '/limits/agents/agent-kept')).length > 1.4e6, 'in etcd');
  // A second replica knows it only from etcd: what was acknowledged reads back.
  const b = await spawnExporter(t, args);
  const back = await fetch(`${b.url}/api/v1/agents/agent-kept`);
  t.equal(back.status, 200, 'a second replica loads it');
  t.same(((await back.json()) as { ips: unknown }).ips, (JSON.parse(kept) as { ips: unknown }).ips, 'the same record');

  // The operator raises the body limit: the store still refuses a record etcd cannot hold.
  const c = await spawnExporter(t, [...args, '--max-body-bytes', String(4 * MiB)]);
  const before = storeErrors(await metrics(c));
  res = await postReport(c.url, 'agent-big', big);
  t.equal(res.status, 413, 'past the store: 413 whatever --max-body-bytes says');
  t.match(((await res.json()) as { message: string }).message, /etcd holds records up to 1570816 bytes/, 'says why');
  t.equal(await stored(etcd, '/limits/agents/agent-big'), '', 'nothing stored');
  t.equal((await postReport(c.url, 'agent-small', report())).status, 200, 'the replica keeps taking reports');
  await sleep(3 * STEP_MS);
  t.same(storeErrors(await metrics(c)), before, 'no store error');
  t.equal(await status(`${c.url}/readyz`), 200, 'ready');
});

t.test('a write etcd refuses for its size is a 413, never a 200, and does not wedge the replica', async (t) => {
  // etcd takes less than the exporter is told (etcd's default): the refusal comes from etcd itself.
  const etcd = await startEtcd(t, { args: ['--max-request-bytes', String(MiB)] });
  const args = [...etcdArgs(etcd, '/refused'), '--etcd-timeout', '1'];
  const a = await spawnExporter(t, args);
  const body = reportOfSize(1.4e6);
  const res = await postReport(a.url, 'agent-big', body);
  t.equal(res.status, 413, 'etcd said "request is too large": 413');
  t.match(((await res.json()) as { message: string }).message, /request is too large/, 'names the cause');
  t.equal(await stored(etcd, '/refused/agents/agent-big'), '', 'nothing stored');
  t.equal(await status(`${a.url}/api/v1/agents/agent-big`), 404, 'nothing served');
  t.ok(
    a
      .logs()
      .some((l) => l.msg === "etcd refused a record for its size; set --etcd-max-request-bytes to the etcd server's --max-request-bytes"),
    'logged with the fix',
  );

  const loaded = loads(a);
  const before = storeErrors(await metrics(a));
  t.ok((before.put ?? 0) >= 1, 'counted as a put error');
  t.equal((await postReport(a.url, 'agent-small', report())).status, 200, 'the replica keeps taking reports');
  await sleep(3 * STEP_MS);
  const after = await metrics(a);
  t.same(storeErrors(after), before, 'no store error since: no retry loop');
  t.equal(loads(a), loaded, 'no reload');
  t.equal(sample(after, 'netchecker_store_up'), 1, 'netchecker_store_up 1');
  t.equal(await status(`${a.url}/readyz`), 200, 'ready');

  // Told etcd's limit, the exporter refuses such a body before reading it.
  const d = await spawnExporter(t, [...args, '--etcd-max-request-bytes', String(MiB)]);
  t.equal((await postReport(d.url, 'agent-big', body)).status, 413, 'refused by the body limit');
  t.equal(await stored(etcd, '/refused/agents/agent-big'), '', 'nothing stored');
});
