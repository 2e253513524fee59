// One conformance suite for the Store interface; every backend runs it (memory, etcd against a real
// etcd, kubernetes against the fake API). Backends that persist also run the part that reopens the
// store on the same data; the kubernetes store shares only what judging an agent needs (node,
// network, interval, listen address, receipt time to the second), its full reports stay in memory.
import t, { type Test } from 'tap';
import { createLogger } from '../lib/log.js';
import { decodeReport } from '../report/decode.js';
import type { Report } from '../report/schema.js';
import { parseExporterConfig } from '../exporter/config.js';
import { systemClock } from '../lib/clock.js';
import type { AgentRecord, Store, StoreOp } from '../exporter/store/store.js';
import { stores } from '../exporter/store/stores.js';
import { originalReports, report } from './helpers/exporter.js';
import { startEtcd } from './helpers/etcd.js';
import { FakeKube } from './helpers/fake-kube.js';

interface Backend {
  readonly name: string;
  /** Opens a store; for persistent backends every call opens one more on the same data. */
  open(t: Test): Promise<(t: Test) => Promise<Store>>;
  readonly persistent: boolean;
  /** What a second store sees of a record: all of it, or what the kubernetes store shares (receipt to the second). */
  readonly shares: 'everything' | 'summary';
}

async function openStore(t: Test, args: string[]): Promise<Store> {
  const parsed = parseExporterConfig(['--report-ttl', '60', ...args]);
  if (!parsed.ok || parsed.help) throw new Error(parsed.ok ? 'help' : parsed.error);
  const factory = stores[parsed.config.store];
  if (!factory) throw new Error(`no store ${parsed.config.store}`);
  const store = await factory({
    ...parsed.config,
    clock: systemClock,
    log: createLogger('error'),
    onError: (op: StoreOp) => t.fail(`store error: ${op}`),
  });
  t.teardown(() => store.close());
  return store;
}

const backends: Backend[] = [
  { name: 'memory', persistent: false, shares: 'everything', open: async () => (t) => openStore(t, ['--store', 'memory']) },
  {
    name: 'kubernetes',
    persistent: true,
    shares: 'summary',
    open: async (t) => {
      const kube = await FakeKube.start(t);
      return (t) =>
        openStore(t, [
          '--store',
          'kubernetes',
          '--kubeconfig',
          kube.kubeconfigPath,
          '--kubernetes-store-namespace',
          `conformance-${process.pid}`,
        ]);
    },
  },
  {
    name: 'etcd',
    persistent: true,
    shares: 'everything',
    open: async (t) => {
      const etcd = await startEtcd(t);
      const prefix = `/conformance-${process.pid}`;
      return (t) => openStore(t, ['--store', 'etcd', '--etcd-endpoints', etcd.endpoints.join(','), '--etcd-prefix', prefix]);
    },
  },
];

function decoded(body: string | Buffer): Report {
  const d = decodeReport(body.toString());
  if (!d.ok) throw new Error(d.detail);
  return d.value;
}

function record(name: string, body: string | Buffer, wallMs = Date.now()): AgentRecord {
  return { name, report: decoded(body), receivedMonoMs: systemClock.monoMs(), receivedWallMs: wallMs };
}

const names = (s: Store): string[] => [...s.records()].map((r) => r.name).sort();

/** What the kubernetes store shares of a report; the rest stays with the replica that received it. */
function summary(r: Report): unknown {
  return { intervalSeconds: r.intervalSeconds, nodeName: r.nodeName, network: r.network, listen: r.listen ?? null };
}

async function eventually(what: string, ok: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

for (const backend of backends) {
  t.test(`${backend.name} store`, async (t) => {
    const open = await backend.open(t);

    t.test('starts empty, synced and ready', async (t) => {
      const s = await open(t);
      t.same(names(s), []);
      t.equal(s.get('nobody'), undefined);
      t.ok(s.synced());
      await eventually('ready', () => s.ready());
      t.same(s.health(), { up: true, queued: 0 });
    });

    t.test('put, get, replace, list, delete', async (t) => {
      const s = await open(t);
      let changes = 0;
      s.onChange(() => changes++);
      const [pod, hostnet] = originalReports();
      if (!pod || !hostnet) throw new Error('fixtures missing');
      const a = record(pod.name, pod.body);
      await s.put(a);
      t.same(s.get(pod.name), a, 'what was put is what get returns');
      await s.put(record(hostnet.name, hostnet.body));
      t.same(names(s), [hostnet.name, pod.name].sort());
      const newer = record(pod.name, report({ report_interval: 7, nodename: 'node-b' }), a.receivedWallMs + 1000);
      await s.put(newer);
      t.equal(s.get(pod.name)?.report.intervalSeconds, 7, 'a later put replaces');
      t.equal(names(s).length, 2, 'one record per agent');
      await s.delete(pod.name);
      t.equal(s.get(pod.name), undefined);
      await s.delete('never-stored');
      t.same(names(s), [hostnet.name]);
      await new Promise((r) => setTimeout(r, 300)); // room for a watch echo
      t.equal(changes, 0, 'its own writes are not reported as outside changes');
      t.same(names(s), [hostnet.name], 'an echo of its own writes changes nothing');
      t.ok(s.ready());
    });

    if (!backend.persistent) return;

    t.test('a second store on the same data sees every put and delete (replicas)', async (t) => {
      const a = await open(t);
      const b = await open(t);
      let changes = 0;
      b.onChange(() => changes++);
      const [pod] = originalReports();
      if (!pod) throw new Error('fixtures missing');
      const r = record(pod.name, pod.body);
      await a.put(r);
      await eventually('the record on b', () => b.get(pod.name) !== undefined);
      const seen = b.get(pod.name) as AgentRecord;
      const granularityMs = backend.shares === 'everything' ? 1 : 1000;
      if (backend.shares === 'everything') t.same(seen.report, r.report, 'the report survives the trip through the backend unchanged');
      else t.same(summary(seen.report), summary(r.report), 'what judging the agent needs survives the trip through the backend');
      t.equal(seen.receivedWallMs, Math.floor(r.receivedWallMs / granularityMs) * granularityMs, 'wall-clock receipt time kept');
      t.ok(
        seen.receivedMonoMs <= systemClock.monoMs() && seen.receivedMonoMs >= r.receivedMonoMs - 50 - granularityMs,
        'monotonic receipt time derived from the wall-clock age',
      );
      t.ok(changes > 0, 'b was told');
      await a.delete(pod.name);
      await eventually('the delete on b', () => b.get(pod.name) === undefined);
      t.pass('deleted on b too');
    });

    t.test('a store opened later loads what is stored', async (t) => {
      const a = await open(t);
      const r = record('loaded-agent', report({ report_interval: 5 }));
      await a.put(r);
      await eventually('written to the backend', () => a.health().queued === 0);
      const c = await open(t);
      const loaded = c.get('loaded-agent')?.report;
      t.same(
        backend.shares === 'everything' ? loaded : loaded && summary(loaded),
        backend.shares === 'everything' ? r.report : summary(r.report),
      );
      t.ok(c.synced());
    });
  });
}
