// Honest storage under concurrency: 500 agents send 4 different reports each through HTTP, for
// the memory store and the etcd store (real etcd). What a user may expect, asserted exactly:
// - reports an agent sends one after another (each after the previous answer): its last one is
//   stored, never replaced by an earlier one;
// - reports an agent sends at the same time (no order between them): one of them is stored whole,
//   never a mix, and the exporter serves exactly what etcd holds.
// "Stored" is compared byte for byte: the GET body is the record JSON of the decoded report that
// was sent (with the receipt time the exporter put in last_updated), and the etcd value is
// record-codec's encoding of that same report, which decodes back to it.
import http from 'node:http';
import t, { type Test } from 'tap';
import { recordJson } from '../report/encode.js';
import { decodeRecord, encodeRecord } from '../exporter/store/record-codec.js';
import type { AgentRecord } from '../exporter/store/store.js';
import { decodeReport } from '../report/decode.js';
import type { Report, WireReport } from '../report/schema.js';
import { eventually } from './helpers/cli.js';
import { type EtcdCluster, startEtcd } from './helpers/etcd.js';
import { startTestExporter } from './helpers/exporter.js';

const AGENTS = 500;
const PER_AGENT = 4;

/** A full report (original fields and our additions), different for every agent and round. */
function body(agent: number, round: number): string {
  const name = `agent-${agent}`;
  const n = agent * 10 + round;
  const wire: Omit<WireReport, 'zero_extender'> & { zero_extender: number[] } = {
    report_interval: 60 + round,
    nodename: `node-${agent % 37}`,
    podname: name,
    hostdate: new Date(Date.UTC(2026, 10, 26, 7, 0, 0, n)).toISOString(),
    uptime: n,
    nslookup: { '10.96.0.10': [`10.0.${agent % 250}.${round}`] },
    ips: { eth0: [`10.1.${agent % 250}.${round + 1}/24`], lo: ['127.0.0.1/8'] },
    network_probes: [
      {
        URL: `http://svc-${round}.example/`,
        ConnectionResult: round % 2,
        HTTPCode: 200 + round,
        Total: n % 97,
        ContentTransfer: 1,
        TCPConnection: 2,
        DNSLookup: 3,
        Connect: 4,
        ServerProcessing: 5,
        Result: 'ok',
        PhasesMs: { dns: 0.25 * round, total: 1.5 + agent / 1000 },
      },
    ],
    zero_extender: new Array(64).fill(0) as number[],
    network: agent % 5 === 0 ? 'host' : 'pod',
    agent_version: `1.${round}.${agent}`,
    listen: `10.1.${agent % 250}.${round + 1}:8082`,
    dns: [
      {
        server: '10.96.0.10',
        name: `n${round}.cluster.local`,
        result: round === 3 ? 'nxdomain' : 'ok',
        latency_ms: round === 2 ? null : 0.5 * round,
      },
    ],
    peers: [
      {
        name: `agent-${(agent + 1) % AGENTS}`,
        node: `node-${(agent + 1) % 37}`,
        network: 'pod',
        result: 'ok',
        sent: 3,
        lost: round % 3,
        rtt_ms: 0.125 * (round + 1),
      },
    ],
    icmp_available: round % 2 === 0,
    path_mtu: { exporter: 1400 + round, peers: round === 1 ? null : 1500 },
    integrity: { event_loop_lag_ms: round, cpu_throttled_ratio: round === 0 ? null : round / 10, starved: false },
  };
  return JSON.stringify(wire);
}

function decoded(text: string): Report {
  const d = decodeReport(text);
  if (!d.ok) throw new Error(`test report does not decode: ${d.detail}`);
  return d.value;
}

/** Slowest answer seen, for the log: the store deadline (1.5 s) would turn a slower put into 503. */
let slowestMs = 0;
/**
 * How long a report may go unanswered: a hang detector, not a speed test. For the memory store
 * (first) half the file's 600 s limit; for etcd three times the memory store's slowest answer
 * in this run (at least 60 s), so a busy machine stretches it as it stretches the answers.
 */
let answerLimitMs = 300_000;
let memorySlowestMs = 0;

/**
 * node:http rather than fetch: half the client CPU for thousands of concurrent requests on a
 * shared CI machine. A fresh connection per report, as our agent sends them (a kept-alive one
 * could race the server's idle timeout).
 */
function post(url: string, agent: number, round: number): Promise<number> {
  const start = performance.now();
  const data = body(agent, round);
  return new Promise((resolve, reject) => {
    const headers = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) };
    const req = http.request(
      `${url}/api/v1/agents/agent-${agent}`,
      { method: 'POST', agent: false, headers, timeout: answerLimitMs },
      (res) => {
        res.resume();
        res.once('end', () => {
          slowestMs = Math.max(slowestMs, performance.now() - start);
          resolve(res.statusCode ?? 0);
        });
      },
    );
    req.once('timeout', () => req.destroy(new Error(`no answer within ${answerLimitMs} ms`)));
    req.once('error', reject);
    req.end(data);
  });
}

/** The record the exporter would hold for this sent body, received at receivedWallMs. */
/** The reports come over loopback: their source address is kept with the record. */
const recordOf = (agent: number, round: number, receivedWallMs: number): AgentRecord => ({
  name: `agent-${agent}`,
  report: decoded(body(agent, round)),
  receivedWallMs,
  receivedMonoMs: 0,
  source: '127.0.0.1',
});

interface Stored {
  /** The GET /api/v1/agents/{name} body, bytes as served. */
  readonly served: string;
  /** The etcd value, when the backend is etcd. */
  readonly inEtcd: Buffer | undefined;
}

/**
 * Which of the agent's rounds the stored record is, byte for byte: the served body must be the
 * record JSON of that round's report (and the etcd value its encoding), or the result is a mismatch.
 */
function matchRound(agent: number, rounds: readonly number[], stored: Stored): number | string {
  const lastUpdated = (JSON.parse(stored.served) as { last_updated: string }).last_updated;
  const wallMs = Date.parse(lastUpdated);
  for (const round of rounds) {
    const rec = recordOf(agent, round, wallMs);
    if (JSON.stringify(recordJson(rec.report, rec.receivedWallMs)) !== stored.served) continue;
    if (stored.inEtcd === undefined) return round;
    if (stored.inEtcd.toString() !== encodeRecord(rec))
      return `agent-${agent}: GET serves round ${round}, etcd holds ${stored.inEtcd.toString().slice(0, 200)}`;
    const back = decodeRecord(stored.inEtcd);
    if (!back.ok || JSON.stringify(back.value.report) !== JSON.stringify(rec.report) || back.value.receivedWallMs !== wallMs)
      return `agent-${agent}: etcd value does not decode to round ${round}`;
    return round;
  }
  return `agent-${agent}: GET serves none of rounds ${rounds.join(',')}: ${stored.served.slice(0, 200)}`;
}

async function readAll(url: string, etcd: { cluster: EtcdCluster; prefix: string } | null): Promise<Map<number, Stored>> {
  const inEtcd = new Map<string, Buffer>();
  if (etcd) {
    // A put etcd was slow to take (over 1.25 s on a loaded machine) waits in the write-back buffer: read etcd after it.
    await eventually(
      async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined),
      20_000,
      'nothing waiting for write-back',
    );
    // etcdctl prints key and value lines; values are one-line JSON, keys have no newline.
    const lines = (await etcd.cluster.etcdctl(['get', `${etcd.prefix}/agents/`, '--prefix'])).split('\n').filter(Boolean);
    for (let i = 0; i + 1 < lines.length; i += 2)
      inEtcd.set((lines[i] as string).slice(`${etcd.prefix}/agents/`.length), Buffer.from(lines[i + 1] as string));
  }
  const out = new Map<number, Stored>();
  for (let a = 0; a < AGENTS; a += 50) {
    await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const res = await fetch(`${url}/api/v1/agents/agent-${a + i}`);
        if (res.status === 200) out.set(a + i, { served: await res.text(), inEtcd: etcd ? inEtcd.get(`agent-${a + i}`) : undefined });
      }),
    );
  }
  if (etcd && inEtcd.size !== out.size) throw new Error(`etcd holds ${inEtcd.size} agents, the exporter serves ${out.size}`);
  return out;
}

async function run(t: Test, args: string[], etcd: { cluster: EtcdCluster; prefix: string } | null): Promise<void> {
  const ex = await startTestExporter(t, ['--log-level', 'warn', ...args]);
  const all = Array.from({ length: AGENTS }, (_, a) => a);
  const rounds = Array.from({ length: PER_AGENT }, (_, r) => r);

  await t.test(
    `${AGENTS * PER_AGENT} reports at once (4 per agent, unordered): each agent's record is one of its reports, whole`,
    async (t) => {
      slowestMs = 0;
      const statuses = await Promise.all(all.flatMap((a) => rounds.map((r) => post(ex.url, a, r))));
      t.same([...new Set(statuses)], [200], `all ${statuses.length} answered 200 (slowest ${Math.round(slowestMs)} ms)`);
      if (!etcd) memorySlowestMs = slowestMs;
      const stored = await readAll(ex.url, etcd);
      t.equal(stored.size, AGENTS, `${AGENTS} agents stored`);
      const bad = [...stored].map(([a, s]) => matchRound(a, rounds, s)).filter((m) => typeof m === 'string');
      t.same(bad, [], 'every record is byte-identical to one report its agent sent (served and in etcd)');
    },
  );

  await t.test(`${AGENTS} agents at once, each sending 4 reports one after another: the last one is stored`, async (t) => {
    const statuses: number[] = [];
    slowestMs = 0;
    // Rounds 4..7 so the record from the first subtest is not mistaken for this one.
    await Promise.all(
      all.map(async (a) => {
        for (const r of rounds) statuses.push(await post(ex.url, a, PER_AGENT + r));
      }),
    );
    t.same([...new Set(statuses)], [200], `all ${statuses.length} answered 200 (slowest ${Math.round(slowestMs)} ms)`);
    const stored = await readAll(ex.url, etcd);
    const which = [...stored].map(([a, s]) =>
      matchRound(
        a,
        rounds.map((r) => PER_AGENT + r),
        s,
      ),
    );
    t.same(
      which.filter((m) => typeof m === 'string'),
      [],
      'every record is byte-identical to a report its agent sent',
    );
    t.same([...new Set(which)], [2 * PER_AGENT - 1], `for all ${stored.size} agents it is the last one (round ${2 * PER_AGENT - 1})`);
    const list = (await (await fetch(`${ex.url}/api/v1/agents/`)).json()) as Record<string, unknown>;
    t.equal(Object.keys(list).length, AGENTS, 'GET /api/v1/agents/ lists every agent once');
  });
}

t.test('memory store', async (t) => {
  await run(t, ['--store', 'memory'], null);
  answerLimitMs = Math.max(60_000, 3 * memorySlowestMs);
});

t.test('etcd store', async (t) => {
  const cluster = await startEtcd(t);
  const prefix = `/concurrency-${process.pid}`;
  await run(t, ['--store', 'etcd', '--etcd-endpoints', cluster.endpoints.join(','), '--etcd-prefix', prefix], { cluster, prefix });
});
