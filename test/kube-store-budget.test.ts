// The Kubernetes store's write budget, counted at the fake API: at 1,000 and 10,000 agents
// reporting all the time, the writes in a window of T seconds stay under
// --kubernetes-store-writes x (T + 1) (the token bucket's bound, docs/stores.md), every agent is
// in the API, and every object stays far under the API's request limit.
import t from 'tap';
import { systemClock } from '../lib/clock.js';
import { decodeReport } from '../report/decode.js';
import type { AgentRecord, Store } from '../exporter/store/store.js';
import { eventually } from './helpers/cli.js';
import { report } from './helpers/exporter.js';
import { FakeKube, shardEntries } from './helpers/fake-kube.js';
import { openKubeStore } from './helpers/kube-store.js';

/** The Kubernetes API's default request limit (etcd's --max-request-bytes): "well under" is a tenth of it. */
const API_LIMIT_BYTES = 1.5 * 1024 * 1024;

const writes = (kube: FakeKube): number =>
  kube.count({ verb: 'create', resource: 'agentshards' }) + kube.count({ verb: 'update', resource: 'agentshards' });

/**
 * n agents report every `intervalMs` for `rounds` intervals, spread evenly over each interval (as a
 * fleet does); returns the writes the API took and the seconds it took.
 */
async function fleet(store: Store, n: number, intervalMs: number, rounds: number): Promise<void> {
  const d = decodeReport(report({ report_interval: Math.max(1, Math.round(intervalMs / 1000)), nodename: 'node' }));
  if (!d.ok) throw new Error(d.detail);
  const slices = 10;
  for (let r = 0; r < rounds; r++) {
    for (let s = 0; s < slices; s++) {
      for (let i = s; i < n; i += slices) {
        const rec: AgentRecord = {
          name: `agent-${i}`,
          report: { ...d.value, nodeName: `node-${i >> 1}` },
          receivedMonoMs: systemClock.monoMs(),
          receivedWallMs: Date.now(),
        };
        await store.put(rec);
      }
      await new Promise((res) => setTimeout(res, intervalMs / slices));
    }
  }
}

for (const agents of [1000, 10_000]) {
  for (const [what, extra, budget] of [
    ['the defaults (32 shards, heartbeat 5 s, 10 writes/s)', [], 10],
    [
      'a heartbeat of 0 (every shard always due): the token bucket alone bounds it',
      ['--kubernetes-store-heartbeat', '0', '--kubernetes-store-writes', '4'],
      4,
    ],
  ] as const) {
    t.test(`${agents} agents reporting every 2 s, ${what}`, async (t) => {
      const kube = await FakeKube.start(t);
      const store = await openKubeStore(t, kube, extra);
      const before = writes(kube);
      const started = performance.now();
      await fleet(store, agents, 2000, 4);
      const seconds = (performance.now() - started) / 1000;
      const taken = writes(kube) - before;
      t.ok(
        taken <= budget * (seconds + 1),
        `${taken} writes in ${seconds.toFixed(1)} s: at most ${budget}/s and one second of burst (${(taken / seconds).toFixed(2)}/s)`,
      );
      t.ok(taken > 0, 'it writes');
      await eventually(async () => (shardEntries(kube).size === agents ? true : undefined), 60_000, `all ${agents} agents in the API`);
      const largest = Math.max(...kube.list('agentshards').map((o) => Buffer.byteLength(JSON.stringify(o))));
      t.ok(
        largest < API_LIMIT_BYTES / 10,
        `the largest object is ${largest} bytes, under a tenth of the API's ${API_LIMIT_BYTES}-byte limit`,
      );
      t.equal(store.get('agent-7')?.report.nodeName, 'node-3');
    });
  }
}
