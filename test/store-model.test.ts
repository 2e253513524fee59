// Model-based test of the Store interface (fast-check commands): random sequences of put, two
// concurrent puts of one agent, delete, get, records, and for etcd also a put through a second replica and close + reopen on the same
// data, against a Map as the model. After every command the real store must hold exactly what
// the model holds: the same names, and per name the same report and receipt time. The memory
// store and the etcd store (real etcd) run the same commands; etcd with fewer runs.
// Pruning is not part of the interface (the monitor prunes through delete, covered here; lease
// expiry is tested in test/etcd-state.test.ts).
import { deepStrictEqual } from 'node:assert/strict';
import fc from 'fast-check';
import t from 'tap';
import { createLogger } from '../lib/log.js';
import { parseExporterConfig } from '../exporter/config.js';
import { systemClock } from '../lib/clock.js';
import type { AgentRecord, Store } from '../exporter/store/store.js';
import { stores } from '../exporter/store/stores.js';
import { decodeReport } from '../report/decode.js';
import { type EtcdCluster, startEtcd } from './helpers/etcd.js';

type Model = Map<string, AgentRecord>;

interface Real {
  store: Store;
  /** For etcd: another replica on the same prefix, and a way to open the store anew on it. */
  readonly other: Store | null;
  readonly reopen: (() => Promise<Store>) | null;
}

const NAMES = ['agent-a', 'agent-b', 'c.1', 'agent-hostnet-d'];
let wallMs = Date.parse('2026-11-26T08:00:00.000Z');
/** Commands run, by kind: shows the runs did something. */
const ran = new Map<string, number>();
const count = (kind: string): void => void ran.set(kind, (ran.get(kind) ?? 0) + 1);

const recordArb = fc
  .record({
    name: fc.constantFrom(...NAMES),
    interval: fc.integer({ min: 1, max: 3600 }),
    node: fc.string({ maxLength: 12 }),
    uptime: fc.option(fc.nat()),
    network: fc.option(fc.constantFrom('pod', 'host')),
    lag: fc.double({ min: 0, max: 1000, noNaN: true }),
  })
  .map(({ name, interval, node, uptime, network, lag }) => {
    const body = JSON.stringify({
      report_interval: interval,
      nodename: node,
      podname: name,
      hostdate: '2026-11-26T08:00:00Z',
      uptime,
      network,
      integrity: { event_loop_lag_ms: lag, cpu_throttled_ratio: null, starved: false },
    });
    const d = decodeReport(body);
    if (!d.ok) throw new Error(d.detail);
    return { name, report: d.value };
  });

/** A fresh receipt time per put: every record put is distinguishable, and later ones are later. */
const received = (r: { name: string; report: AgentRecord['report'] }): AgentRecord => ({
  ...r,
  receivedMonoMs: systemClock.monoMs(),
  receivedWallMs: (wallMs += 7),
});

const view = (r: AgentRecord | undefined): unknown =>
  r ? { name: r.name, report: r.report, receivedWallMs: r.receivedWallMs } : undefined;

/** The real store holds exactly the model: by get() for every name, and as records(). */
function assertSame(model: Model, store: Store): void {
  for (const name of NAMES) deepStrictEqual(view(store.get(name)), view(model.get(name)), `get(${name})`);
  const listed = [...store.records()].map(view).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  const want = [...model.values()].map(view).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  deepStrictEqual(listed, want, 'records()');
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

class Put implements fc.AsyncCommand<Model, Real> {
  constructor(readonly r: { name: string; report: AgentRecord['report'] }) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    count('Put');
    const rec = received(this.r);
    await real.store.put(rec);
    model.set(rec.name, rec);
    assertSame(model, real.store);
  }
  toString = (): string => `put(${this.r.name}, interval ${this.r.report.intervalSeconds})`;
}

/** Two puts of one agent at once: either may win (no order between them), but whole, and the store keeps to it. */
class PutBoth implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly a: { name: string; report: AgentRecord['report'] },
    readonly b: { name: string; report: AgentRecord['report'] },
  ) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    count('PutBoth');
    const [ra, rb] = [received(this.a), received({ ...this.b, name: this.a.name })];
    await Promise.all([real.store.put(ra), real.store.put(rb)]);
    const held = real.store.get(ra.name);
    const winner = [ra, rb].find((r) => held?.receivedWallMs === r.receivedWallMs);
    if (!winner) throw new Error(`after two concurrent puts the store holds neither: ${JSON.stringify(view(held))}`);
    model.set(winner.name, winner);
    assertSame(model, real.store);
  }
  toString = (): string => `putBoth(${this.a.name})`;
}

class Delete implements fc.AsyncCommand<Model, Real> {
  constructor(readonly name: string) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    count('Delete');
    await real.store.delete(this.name);
    model.delete(this.name);
    assertSame(model, real.store);
  }
  toString = (): string => `delete(${this.name})`;
}

class Get implements fc.AsyncCommand<Model, Real> {
  constructor(readonly name: string) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    count('Get');
    deepStrictEqual(view(real.store.get(this.name)), view(model.get(this.name)));
  }
  toString = (): string => `get(${this.name})`;
}

/** etcd: another replica stores a report; this one sees it through its watch. */
class PutElsewhere implements fc.AsyncCommand<Model, Real> {
  constructor(readonly r: { name: string; report: AgentRecord['report'] }) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    count('PutElsewhere');
    if (!real.other) throw new Error('no other replica');
    const rec = received(this.r);
    await real.other.put(rec);
    model.set(rec.name, rec);
    await until(`the watch to deliver ${rec.name}`, () => real.store.get(rec.name)?.receivedWallMs === rec.receivedWallMs);
    assertSame(model, real.store);
  }
  toString = (): string => `putElsewhere(${this.r.name})`;
}

/** etcd: close the store and open a new one on the same data: everything is still there. */
class Reopen implements fc.AsyncCommand<Model, Real> {
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    count('Reopen');
    if (!real.reopen) throw new Error('not persistent');
    await real.store.close();
    real.store = await real.reopen();
    assertSame(model, real.store);
  }
  toString = (): string => 'reopen()';
}

async function open(args: string[], errors: string[]): Promise<Store> {
  const parsed = parseExporterConfig(['--report-ttl', '600', ...args]);
  if (!parsed.ok || parsed.help) throw new Error(parsed.ok ? 'help' : parsed.error);
  const factory = stores[parsed.config.store];
  if (!factory) throw new Error(`no store ${parsed.config.store}`);
  return factory({ ...parsed.config, clock: systemClock, log: createLogger('error'), onError: (op) => errors.push(op) });
}

const name = fc.constantFrom(...NAMES);
const common = [
  recordArb.map((r) => new Put(r)),
  recordArb.map((r) => new Put(r)),
  fc.tuple(recordArb, recordArb).map(([a, b]) => new PutBoth(a, b)),
  name.map((n) => new Delete(n)),
  name.map((n) => new Get(n)),
];

t.test('memory store matches a Map', async (t) => {
  const errors: string[] = [];
  await fc.assert(
    fc.asyncProperty(fc.commands(common, { maxCommands: 40, size: 'max' }), async (cmds) => {
      const real: Real = { store: await open(['--store', 'memory'], errors), other: null, reopen: null };
      await fc.asyncModelRun(() => ({ model: new Map(), real }), cmds);
      await real.store.close();
    }),
    { numRuns: 200 },
  );
  t.same(errors, [], 'no store errors');
  t.comment(`commands run: ${JSON.stringify(Object.fromEntries(ran))}`);
  ran.clear();
});

t.test('etcd store matches a Map, across replicas and reopening', async (t) => {
  const etcd: EtcdCluster = await startEtcd(t);
  const errors: string[] = [];
  let run = 0;
  const started = Date.now();
  const commands = [...common, recordArb.map((r) => new PutElsewhere(r)), fc.constant(new Reopen())];
  await fc.assert(
    fc.asyncProperty(fc.commands(commands, { maxCommands: 25, size: 'max' }), async (cmds) => {
      // A prefix per run: each run starts from an empty store.
      const args = ['--store', 'etcd', '--etcd-endpoints', etcd.endpoints.join(','), '--etcd-prefix', `/model-${process.pid}-${++run}`];
      const real: Real = { store: await open(args, errors), other: await open(args, errors), reopen: () => open(args, errors) };
      try {
        await fc.asyncModelRun(() => ({ model: new Map(), real }), cmds);
      } finally {
        await Promise.all([real.store.close(), real.other?.close()]);
      }
    }),
    { numRuns: 60 },
  );
  t.comment(`${run} runs (shrinking included) in ${Date.now() - started} ms; commands run: ${JSON.stringify(Object.fromEntries(ran))}`);
  t.same(errors, [], 'no store errors');
});
