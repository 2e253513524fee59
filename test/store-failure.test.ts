// A failing store: a report is answered within 2 s, 200 only when etcd has it or it waits in the
// write-back buffer (by design, --etcd-queue-max), otherwise 503 store_unavailable. etcd gets
// 1.25 s per put before the report is buffered (or refused); any store gets 1.5 s before 503. A frozen etcd
// (SIGSTOP: calls hang, the interesting case) and a dead one; after recovery every acknowledged
// report is in the exporter and in etcd. Each request is timed on its own (no polling involved).
import { performance } from 'node:perf_hooks';
import t, { type Test } from 'tap';
import { parseExporterConfig } from '../exporter/config.js';
import { MemoryStore } from '../exporter/store/memory.js';
import type { AgentRecord } from '../exporter/store/store.js';
import { stores } from '../exporter/store/stores.js';
import { eventually } from './helpers/cli.js';
import { type EtcdCluster, type EtcdMember, startEtcd, waitHealthy } from './helpers/etcd.js';
import { report, sample, startTestExporter, type TestExporter } from './helpers/exporter.js';

/** The bound on an answer; measured per request around fetch, so it includes the client's own overhead. */
const ANSWER_LIMIT_MS = 2000;

interface Answer {
  readonly agent: string;
  readonly seq: number;
  readonly status: number;
  readonly ms: number;
  readonly error: string | undefined;
}

async function send(url: string, agent: string, seq: number): Promise<Answer> {
  const body = report({ report_interval: 60, nodename: `node-${agent}`, podname: agent, uptime: seq });
  const start = performance.now();
  const res = await fetch(`${url}/api/v1/agents/${agent}`, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/json' },
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  const ms = performance.now() - start;
  return { agent, seq, status: res.status, ms, error: res.status === 200 ? undefined : (JSON.parse(text) as { error: string }).error };
}

/** Every agent sends reports one after another, 50 ms apart (concurrently across agents), for durationMs. */
async function sendFor(url: string, agents: string[], durationMs: number, firstSeq: number): Promise<Answer[]> {
  const answers: Answer[] = [];
  const end = performance.now() + durationMs;
  await Promise.all(
    agents.map(async (agent) => {
      for (let seq = firstSeq; performance.now() < end; seq++) {
        answers.push(await send(url, agent, seq));
        await new Promise((r) => setTimeout(r, 50)); // a busy agent, not a flood
      }
    }),
  );
  return answers;
}

const agentsOf = (n: number, tag: string): string[] => Array.from({ length: n }, (_, i) => `${tag}-${i}`);
const storedUptime = async (url: string, agent: string): Promise<number | undefined> => {
  const res = await fetch(`${url}/api/v1/agents/${agent}`);
  return res.status === 200 ? ((await res.json()) as { uptime: number }).uptime : undefined;
};
const etcdUptime = async (etcd: EtcdCluster, key: string): Promise<number | undefined> => {
  const v = await etcd.etcdctl(['get', key, '--print-value-only']);
  return v.trim() === '' ? undefined : (JSON.parse(v) as { uptime: number }).uptime;
};

async function setup(t: Test, prefix: string, extra: string[]): Promise<{ etcd: EtcdCluster; member: EtcdMember; ex: TestExporter }> {
  const etcd = await startEtcd(t);
  const member = etcd.members[0];
  if (!member) throw new Error('no etcd member');
  t.teardown(() => member.signal('SIGCONT'));
  const ex = await startTestExporter(t, [
    '--store',
    'etcd',
    '--etcd-endpoints',
    etcd.endpoints.join(','),
    '--etcd-prefix',
    prefix,
    ...extra,
  ]);
  return { etcd, member, ex };
}

/**
 * After recovery: for each agent, exporter and etcd hold its last acknowledged report, or one it
 * sent after that and got 503 for (a put cut off by the deadline may still land; never an older one).
 */
async function assertNoAckLost(t: Test, etcd: EtcdCluster, ex: TestExporter, prefix: string, answers: Answer[]): Promise<void> {
  const lastAck = new Map<string, number>();
  const lastSent = new Map<string, number>();
  for (const a of answers) {
    if (a.status === 200) lastAck.set(a.agent, Math.max(lastAck.get(a.agent) ?? 0, a.seq));
    lastSent.set(a.agent, Math.max(lastSent.get(a.agent) ?? 0, a.seq));
  }
  const bad: string[] = [];
  for (const [agent, acked] of lastAck) {
    const inEtcd = await eventually(async () => etcdUptime(etcd, `${prefix}/agents/${agent}`), 5000, `${agent} in etcd`);
    const served = await storedUptime(ex.url, agent);
    const sent = lastSent.get(agent) ?? acked;
    for (const [where, got] of [
      ['etcd', inEtcd],
      ['GET', served],
    ] as const) {
      if (got === undefined || got < acked || got > sent)
        bad.push(`${agent} ${where}: holds #${got}, last acknowledged #${acked}, last sent #${sent}`);
    }
  }
  t.same(bad, [], `each of ${lastAck.size} agents: its last acknowledged report (or a later one) is in the exporter and in etcd`);
}

t.test('etcd frozen (SIGSTOP), write-back buffer on: 503 or buffered 200 within 2 s, nothing acknowledged is lost', async (t) => {
  const prefix = `/frozen-${process.pid}`;
  const { etcd, member, ex } = await setup(t, prefix, []);
  const agents = agentsOf(20, 'frozen');
  const before = await Promise.all(agents.map((a) => send(ex.url, a, 1)));
  t.same([...new Set(before.map((a) => a.status))], [200], 'stored while etcd runs');

  await member.signal('SIGSTOP');
  const during = await sendFor(ex.url, agents, 5000, 2);
  const slow = during.filter((a) => a.ms > ANSWER_LIMIT_MS);
  t.same(
    slow.map((a) => `${a.agent} #${a.seq}: ${Math.round(a.ms)} ms`),
    [],
    `all ${during.length} reports answered within ${ANSWER_LIMIT_MS} ms (slowest ${Math.round(Math.max(...during.map((a) => a.ms)))} ms)`,
  );
  const kinds = new Set(during.map((a) => `${a.status} ${a.error ?? ''}`.trim()));
  t.ok(
    [...kinds].every((k) => k === '200' || k === '503 store_unavailable'),
    `each is 200 (queued for write-back) or 503 store_unavailable: ${[...kinds].join(', ')}`,
  );
  t.ok(
    during.some((a) => a.status === 200),
    `${during.filter((a) => a.status === 200).length} buffered and answered 200`,
  );
  const first = during.filter((a) => a.seq === 2);
  t.ok(
    first.some((a) => a.ms >= 1200),
    `the first reports after the freeze waited for etcd (1.25 s) before they were buffered: ${first.map((a) => Math.round(a.ms)).join(', ')} ms`,
  );
  const m = await (await fetch(`${ex.url}/metrics`)).text();
  t.equal(sample(m, 'netchecker_store_queued_writes'), agents.length, 'every agent waits for write-back');
  t.equal((await fetch(`${ex.url}/readyz`)).status, 503, 'not ready while etcd is frozen');

  await member.signal('SIGCONT');
  await waitHealthy(etcd);
  await eventually(async () => ((await fetch(`${ex.url}/readyz`)).status === 200 ? true : undefined), 20_000, 'ready after SIGCONT');
  t.equal(sample(await (await fetch(`${ex.url}/metrics`)).text(), 'netchecker_store_queued_writes'), 0, 'the buffer is written back');
  await assertNoAckLost(t, etcd, ex, prefix, [...before, ...during]);
});

t.test('etcd frozen, write-back off (--etcd-queue-max 0): every report 503 within 2 s, never 200', async (t) => {
  const prefix = `/nobuffer-${process.pid}`;
  const { etcd, member, ex } = await setup(t, prefix, ['--etcd-queue-max', '0']);
  const agents = agentsOf(10, 'nobuf');
  const before = await Promise.all(agents.map((a) => send(ex.url, a, 1)));
  t.same([...new Set(before.map((a) => a.status))], [200]);

  await member.signal('SIGSTOP');
  const during = await sendFor(ex.url, agents, 4000, 2);
  t.same(
    [...new Set(during.map((a) => `${a.status} ${a.error ?? ''}`))],
    ['503 store_unavailable'],
    `all ${during.length} reports answered 503 store_unavailable`,
  );
  const slowest = Math.max(...during.map((a) => a.ms));
  t.ok(slowest <= ANSWER_LIMIT_MS, `each within ${ANSWER_LIMIT_MS} ms (slowest ${Math.round(slowest)} ms)`);
  t.ok(during.filter((a) => a.ms < 500).length > agents.length, 'once the store knows etcd is away, 503 comes at once');
  const refused = await fetch(`${ex.url}/api/v1/agents/${agents[0]}`, {
    method: 'POST',
    body: report({ podname: agents[0] }),
    headers: { 'Content-Type': 'application/json' },
  });
  t.equal(refused.headers.get('retry-after'), '1', 'Retry-After: 1');
  t.match(await refused.json(), { error: 'store_unavailable', message: /not stored/ }, 'the body says why, without a stack trace');
  const rejected = sample(await (await fetch(`${ex.url}/metrics`)).text(), 'netchecker_reports_rejected_total{reason="store_unavailable"}');
  t.equal(rejected, during.length + 1, 'each 503 counted in netchecker_reports_rejected_total{reason="store_unavailable"}');

  await member.signal('SIGCONT');
  await waitHealthy(etcd);
  await eventually(async () => ((await fetch(`${ex.url}/readyz`)).status === 200 ? true : undefined), 20_000, 'ready after SIGCONT');
  const after = await Promise.all(agents.map((a) => send(ex.url, a, 1000)));
  t.same([...new Set(after.map((a) => a.status))], [200], 'stored again once etcd answers');
  await assertNoAckLost(t, etcd, ex, prefix, [...before, ...during, ...after]);
});

t.test('etcd dead, buffer of 3 agents: the 4th agent gets 503, the 3 buffered reports survive the restart', async (t) => {
  const prefix = `/full-${process.pid}`;
  const { etcd, member, ex } = await setup(t, prefix, ['--etcd-queue-max', '3', '--etcd-timeout', '0.5']);
  await member.kill();
  await eventually(
    async () => (sample(await (await fetch(`${ex.url}/metrics`)).text(), 'netchecker_store_up') === 0 ? true : undefined),
    10_000,
    'store down',
  );
  const agents = agentsOf(6, 'full');
  const answers: Answer[] = [];
  for (const a of agents) answers.push(await send(ex.url, a, 1));
  answers.push(await send(ex.url, 'full-0', 2));
  t.same(
    answers.map((a) => `${a.agent} #${a.seq} ${a.status}`),
    ['full-0 #1 200', 'full-1 #1 200', 'full-2 #1 200', 'full-3 #1 503', 'full-4 #1 503', 'full-5 #1 503', 'full-0 #2 200'],
    'buffered up to 3 agents; a buffered agent may replace its report',
  );
  t.ok(
    answers.every((a) => a.ms <= ANSWER_LIMIT_MS),
    `each within ${ANSWER_LIMIT_MS} ms`,
  );
  t.equal(await storedUptime(ex.url, 'full-3'), undefined, 'a refused report is not served');

  await member.start();
  await waitHealthy(etcd);
  await eventually(async () => ((await fetch(`${ex.url}/readyz`)).status === 200 ? true : undefined), 20_000, 'ready after restart');
  await assertNoAckLost(t, etcd, ex, prefix, answers);
  const keys = (await etcd.etcdctl(['get', `${prefix}/agents/`, '--prefix', '--keys-only'])).split('\n').filter(Boolean).sort();
  t.same(
    keys,
    ['full-0', 'full-1', 'full-2'].map((a) => `${prefix}/agents/${a}`),
    'exactly the acknowledged agents are in etcd',
  );
  t.equal(await etcdUptime(etcd, `${prefix}/agents/full-0`), 2, 'with the latest report');
});

t.test('a store call that hangs: 503 store_unavailable from the 1.5 s deadline, the next report stored', async (t) => {
  // Fault injection for the generic deadline (etcd's own 1.25 s bound answers before it): the real
  // memory store, with puts that hang while `frozen` is set.
  let frozen = false;
  class HangingStore extends MemoryStore {
    override readonly local = false;
    override put(r: AgentRecord): Promise<void> {
      return frozen ? new Promise<void>(() => {}) : super.put(r);
    }
  }
  const memory = stores.memory;
  stores.memory = async () => new HangingStore();
  t.teardown(() => {
    stores.memory = memory;
  });
  const ex = await startTestExporter(t, ['--store', 'memory']);
  t.equal((await send(ex.url, 'hang-a', 1)).status, 200);
  frozen = true;
  const hung = await Promise.all([1, 2, 3].map((i) => send(ex.url, `hang-${i}`, 2)));
  t.same(
    hung.map((a) => `${a.status} ${a.error}`),
    ['503 store_unavailable', '503 store_unavailable', '503 store_unavailable'],
    'answered 503 store_unavailable',
  );
  t.ok(
    hung.every((a) => a.ms >= 1400 && a.ms <= ANSWER_LIMIT_MS),
    `at the deadline, within ${ANSWER_LIMIT_MS} ms: ${hung.map((a) => Math.round(a.ms)).join(', ')} ms`,
  );
  t.equal(
    sample(await (await fetch(`${ex.url}/metrics`)).text(), 'netchecker_reports_rejected_total{reason="store_unavailable"}'),
    3,
    'counted',
  );
  frozen = false;
  t.equal((await send(ex.url, 'hang-a', 3)).status, 200, 'stored once the store answers');
  t.equal(await storedUptime(ex.url, 'hang-a'), 3);
});

t.test('--etcd-queue-max takes a whole number of agents from 0', async (t) => {
  const base = ['--store', 'etcd', '--etcd-endpoints', 'http://127.0.0.1:2379'];
  for (const bad of ['-1', '1.5', 'many', '10000001']) {
    const parsed = parseExporterConfig([...base, '--etcd-queue-max', bad]);
    t.notOk(parsed.ok, `${bad} is refused`);
    if (!parsed.ok) t.match(parsed.error, /--etcd-queue-max/, 'the error names the flag');
  }
  const parsed = parseExporterConfig([...base, '--etcd-queue-max', '0']);
  t.ok(parsed.ok && !parsed.help && parsed.config.etcd?.queueMax === 0, '0 turns the write-back buffer off');
  const dflt = parseExporterConfig(base);
  t.ok(dflt.ok && !dflt.help && dflt.config.etcd?.queueMax === 100_000, 'default 100,000 agents');
});
