// The etcd store at scale: 20,000 of our agents' records (about 43 MB in etcd, ten times what one
// unpaged read could take) through start, restart, a second replica and an 8 s etcd freeze with
// reports flowing. Nothing acknowledged is lost, /readyz is honest throughout, and
// connectivity_check never passes on a partial view: every 200 counts all 20,000 agents.
import t from 'tap';
import { rssBytes } from '../bench/lib.js';
import { BACKEND_WAIT_MS } from '../exporter/store/deadline.js';
import { eventually } from './helpers/cli.js';
import { agentValue, bulkPut, etcdArgs, type ExporterProcess, spawnExporter, startEtcd, startFeeder } from './helpers/etcd.js';
import { sample } from './helpers/exporter.js';

const AGENTS = 20_000;
const PREFIX = '/scale';
/** --etcd-timeout, seconds (the default). */
const ETCD_TIMEOUT_S = 2;
/** Agents reporting during the freeze, and how often each posts. */
const FED = 20;
const PERIOD_MS = 300;
const FREEZE_MS = 8000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const status = async (url: string): Promise<number> => (await fetch(url)).status;

/** connectivity_check: status and how many agents its pass message counts (null: failing). */
async function check(ex: ExporterProcess): Promise<{ status: number; passed: number | null }> {
  const res = await fetch(`${ex.url}/api/v1/connectivity_check`);
  const body = (await res.json()) as { Message: string };
  const m = /^All (\d+) pods/.exec(body.Message);
  return { status: res.status, passed: m ? Number(m[1]) : null };
}

/** The exporter's last load of the prefix, from its log. */
function lastLoad(ex: ExporterProcess): { agents: number; pages: number; bytes: number; ms: number; count: number; atMs: number } {
  const loads = ex.logs().filter((l) => l.msg === 'loaded the agents from etcd');
  const l = loads[loads.length - 1];
  if (!l) throw new Error('no load logged');
  return {
    ...(l as unknown as { agents: number; pages: number; bytes: number; ms: number }),
    count: loads.length,
    atMs: Date.parse(String(l.time)),
  };
}

t.test(`${AGENTS} records through etcd: start, restart, second replica, an 8 s freeze`, async (t) => {
  const etcd = await startEtcd(t);
  const member = etcd.members[0];
  if (!member) throw new Error('no etcd member');
  const wallMs = Date.now();
  let bytes = 0;
  const written = Date.now();
  await bulkPut(
    etcd,
    (function* () {
      for (let i = 0; i < AGENTS; i++) {
        const name = `netchecker-agent-${i}`;
        const value = agentValue(name, wallMs);
        bytes += value.length;
        yield [`${PREFIX}/agents/${name}`, value] as [string, string];
      }
    })(),
  );
  t.ok(bytes > 40e6, `${AGENTS} records, ${(bytes / 1e6).toFixed(1)} MB, written in ${Date.now() - written} ms`);

  const args = [...etcdArgs(etcd, PREFIX), '--etcd-timeout', String(ETCD_TIMEOUT_S), '--max-agents', String(AGENTS + FED)];
  const start = async (what: string): Promise<ExporterProcess> => {
    const ex = await spawnExporter(t, args);
    await eventually(async () => ((await status(`${ex.url}/readyz`)) === 200 ? true : undefined), 60_000, `${what} ready`);
    const load = lastLoad(ex);
    slowestLoadMs = Math.max(slowestLoadMs, load.ms);
    t.equal(load.agents, AGENTS, `${what}: loaded every record`);
    t.same(await check(ex), { status: 200, passed: AGENTS }, `${what}: the check counts all ${AGENTS} agents`);
    const rss = rssBytes(ex.spawned.child.pid as number);
    t.comment(
      `${what}: loaded ${load.agents} records (${(load.bytes / 1e6).toFixed(1)} MB) in ${load.pages} pages, ${load.ms} ms; RSS ${(rss / 1e6).toFixed(0)} MB`,
    );
    return ex;
  };
  /** The slowest whole load measured in this run: the reload after the freeze is bounded by it. */
  let slowestLoadMs = 0;
  const first = await start('start');
  await first.kill();
  const a = await start('restart');
  const b = await start('second replica');

  // Each fed agent reports to one replica only; the other sees it through etcd.
  const targets = Array.from({ length: FED }, (_, i) => ({ url: (i % 2 ? b : a).url, agent: `fed-agent-${i}` }));
  const feeder = startFeeder(t, targets, PERIOD_MS, 10);
  for (const ex of [a, b]) {
    await eventually(async () => ((await check(ex)).passed === AGENTS + FED ? true : undefined), 10_000, 'the fed agents on both replicas');
  }

  const loadsBefore = [lastLoad(a).count, lastLoad(b).count];
  // Polled during the freeze, each replica on its own: readyz every 250 ms (when it was asked and
  // when it answered), the check (a 4 MB body) every 2 s.
  const ready: Array<{ ex: ExporterProcess; askedMs: number; answeredMs: number; status: number }> = [];
  const checks: Array<{ status: number; passed: number | null }> = [];
  let polling = true;
  t.teardown(() => {
    polling = false; // a failed wait below must not leave the pollers running
  });
  const stopped = Date.now();
  const every = async (ms: number, fn: () => Promise<void>): Promise<void> => {
    while (polling) await Promise.all([fn(), sleep(ms)]);
  };
  const poll = Promise.all(
    [a, b].flatMap((ex) => [
      every(250, async () => {
        const askedMs = Date.now() - stopped;
        const s = await status(`${ex.url}/readyz`).catch(() => 0);
        ready.push({ ex, askedMs, answeredMs: Date.now() - stopped, status: s });
      }),
      every(2000, async () => void checks.push(await check(ex).catch(() => ({ status: 0, passed: null })))),
    ]),
  );
  await member.signal('SIGSTOP');
  t.teardown(() => member.signal('SIGCONT'));
  await sleep(FREEZE_MS);
  await member.signal('SIGCONT');
  for (const ex of [a, b]) {
    // The write-back, a circuit breaker's 5 s and a whole reload, with both replicas reloading at
    // once while polled: on a busy machine many times one load of this run, at least a minute.
    const bound = Math.max(60_000, 15 * slowestLoadMs);
    await eventually(
      async () => ((await status(`${ex.url}/readyz`)) === 200 ? true : undefined),
      bound,
      `ready again after the freeze (within ${bound} ms: 15 x the slowest load of this run)`,
    );
  }
  polling = false;
  await poll;
  await feeder.stop();

  // The next report after the freeze waits BACKEND_WAIT_MS for etcd, then the replica says it is
  // not ready, and stays so until it has reloaded (the time its log gives for the reload).
  const noticeMs = PERIOD_MS + BACKEND_WAIT_MS + ETCD_TIMEOUT_S * 1000;
  for (const [name, ex] of [
    ['A', a],
    ['B', b],
  ] as const) {
    const reloadedMs = lastLoad(ex).atMs - stopped;
    const blind = ready.filter((r) => r.ex === ex && r.askedMs > noticeMs && r.answeredMs < reloadedMs);
    t.ok(
      blind.length > 0 && blind.every((r) => r.status === 503),
      `${name}: /readyz 503 from ${noticeMs} ms into the freeze until its reload ended at ${reloadedMs} ms (${blind.length} polls)`,
    );
  }
  t.ok(
    checks.every((c) => c.status !== 200 || c.passed === AGENTS + FED),
    `every passing check during the freeze and the reload counts all ${AGENTS + FED} agents (${checks.length} checks, ${checks.filter((c) => c.status === 200).length} passing)`,
  );
  const answers = new Set(feeder.statuses);
  t.ok(
    [...answers].every((s) => s === 200 || s === 503),
    `every report answered 200 (stored or queued) or 503 (not acknowledged): ${[...answers].join(', ')}`,
  );
  t.ok(
    feeder.statuses.filter((s) => s === 200).length > FED * 10,
    `${feeder.statuses.filter((s) => s === 200).length} of ${feeder.statuses.length} reports acknowledged`,
  );
  for (const ex of [a, b]) {
    const m = await (await fetch(`${ex.url}/metrics`)).text();
    t.equal(sample(m, 'netchecker_store_queued_writes'), 0, 'the queue is written back');
    t.same(await check(ex), { status: 200, passed: AGENTS + FED }, 'both replicas count every agent again');
  }
  t.same(
    [lastLoad(a).count, lastLoad(b).count],
    loadsBefore.map((n) => n + 1),
    'ready again only once each replica reloaded what it missed while blind',
  );
  t.comment(
    `after the freeze: A reloaded in ${lastLoad(a).ms} ms, B in ${lastLoad(b).ms} ms; RSS A ${(rssBytes(a.spawned.child.pid as number) / 1e6).toFixed(0)} MB, B ${(rssBytes(b.spawned.child.pid as number) / 1e6).toFixed(0)} MB`,
  );

  // Nothing acknowledged is lost: etcd holds each fed agent's last acknowledged report or a later one.
  const lost: string[] = [];
  for (const { agent } of targets) {
    const v = JSON.parse(await etcd.etcdctl(['get', `${PREFIX}/agents/${agent}`, '--print-value-only'])) as { uptime: number };
    if (v.uptime < (feeder.acked.get(agent) ?? 0)) lost.push(`${agent}: ${v.uptime} < ${feeder.acked.get(agent)}`);
  }
  t.same(lost, [], `each of ${FED} fed agents: its last acknowledged report (or a later one) is in etcd`);
  const keys = (await etcd.etcdctl(['get', `${PREFIX}/agents/`, '--prefix', '--keys-only'])).split('\n').filter(Boolean);
  t.equal(keys.length, AGENTS + FED, 'no record lost from etcd');
});
