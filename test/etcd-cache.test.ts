// The etcd store's pure parts, with the clock injected: the record codec (what etcd holds reads
// back as the same record), the cache (revision order, the freeze while blind, reload), the lease pool.
import fc from 'fast-check';
import t from 'tap';
import { decodeReport } from '../report/decode.js';
import { EtcdCache } from '../exporter/store/etcd-cache.js';
import { LeasePool, leaseWindowSeconds } from '../exporter/store/lease-pool.js';
import { decodeRecord, encodeRecord, monoFromWall } from '../exporter/store/record-codec.js';
import type { AgentRecord } from '../exporter/store/store.js';
import { originalReports, report } from './helpers/exporter.js';

function rec(
  name: string,
  body: string | Buffer,
  receivedMonoMs = 1000,
  receivedWallMs = Date.parse('2026-11-26T08:00:00.123Z'),
): AgentRecord {
  const d = decodeReport(body.toString());
  if (!d.ok) throw new Error(d.detail);
  return { name, report: d.value, receivedMonoMs, receivedWallMs };
}

t.test('codec: a stored record reads back as the same report and receipt time', async (t) => {
  for (const { name, body } of originalReports()) {
    const r = rec(name, body);
    const back = decodeRecord(Buffer.from(encodeRecord(r)));
    t.ok(back.ok, name);
    if (back.ok)
      t.same(back.value, { report: r.report, receivedWallMs: r.receivedWallMs, source: null }, "no source: an older exporter's record");
    const withSource = decodeRecord(Buffer.from(encodeRecord({ ...r, source: '::ffff:10.0.0.7' })));
    t.equal(withSource.ok && withSource.value.source, '::ffff:10.0.0.7', 'the source address survives');
    const forged = decodeRecord(Buffer.from(encodeRecord(r).replace(/}$/, ',"source_address":"evil.example"}')));
    t.equal(forged.ok && forged.value.source, null, 'anything but an IP reads as unknown');
  }
  const probe = fc.record({
    URL: fc.webUrl(),
    HTTPCode: fc.integer({ min: 0, max: 999 }),
    Total: fc.option(fc.double({ min: 0, max: 1e6, noNaN: true })),
    Result: fc.option(fc.constantFrom('ok', 'timeout')),
  });
  const body = fc.record({
    report_interval: fc.integer({ min: 1, max: 3600 }),
    nodename: fc.string({ maxLength: 20 }),
    uptime: fc.option(fc.nat()),
    ips: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }))),
    network_probes: fc.option(fc.array(probe, { maxLength: 3 })),
    network: fc.option(fc.constantFrom('pod', 'host')),
    listen: fc.option(fc.constantFrom('10.0.0.1:8082', '[fd00::1]:9000')),
    dns: fc.option(
      fc.array(
        fc.record({
          server: fc.constant('10.96.0.10'),
          name: fc.domain(),
          result: fc.constantFrom('ok', 'nxdomain', 'timeout'),
          latency_ms: fc.option(fc.double({ min: 0, max: 5000, noNaN: true })),
        }),
        { maxLength: 3 },
      ),
    ),
    peers: fc.option(
      fc.array(
        fc.record({
          name: fc.constant('agent-b'),
          node: fc.string({ maxLength: 8 }),
          network: fc.constantFrom('pod', 'host'),
          result: fc.constantFrom('ok', 'timeout'),
          sent: fc.constant(3),
          lost: fc.integer({ min: 0, max: 3 }),
          rtt_ms: fc.option(fc.double({ min: 0, max: 1000, noNaN: true })),
        }),
        { maxLength: 3 },
      ),
    ),
    icmp_available: fc.option(fc.boolean()),
    path_mtu: fc.option(
      fc.record({ exporter: fc.option(fc.integer({ min: 68, max: 9000 })), peers: fc.option(fc.integer({ min: 68, max: 9000 })) }),
    ),
    integrity: fc.option(
      fc.record({
        event_loop_lag_ms: fc.double({ min: 0, max: 1000, noNaN: true }),
        cpu_throttled_ratio: fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
        starved: fc.boolean(),
      }),
    ),
  });
  // Every field our agent sends survives: peers, probe metrics and the verdict on other replicas need them.
  fc.assert(
    fc.property(body, fc.integer({ min: 0, max: 4e12 }), (b, wall) => {
      const r = rec('agent', JSON.stringify(b), 0, wall);
      const back = decodeRecord(Buffer.from(encodeRecord(r)));
      if (!back.ok) throw new Error(back.error);
      t.same(back.value.report, r.report);
      return back.value.receivedWallMs === wall;
    }),
  );
  const bad: Array<[string, RegExp]> = [
    ['not json', /invalid_json/],
    ['[1]', /not_an_object/],
    ['{"report_interval":0}', /invalid_field/],
    [report(), /last_updated is missing/],
    [report({ last_updated: 'yesterday' }), /RFC 3339/],
  ];
  for (const [value, error] of bad) {
    const d = decodeRecord(Buffer.from(value));
    t.notOk(d.ok, value);
    if (!d.ok) t.match(d.error, error);
  }
});

t.test('monotonic receipt time from the wall-clock age, never in the future', async (t) => {
  t.equal(monoFromWall(10_000, 500_000, 20_000), 490_000, '10 s old');
  t.equal(monoFromWall(30_000, 500_000, 20_000), 500_000, 'a wall time ahead of ours counts as now');
});

t.test('cache: revisions order own writes and the watch', async (t) => {
  const c = new EtcdCache();
  const a1 = rec('a', report(), 1);
  const a2 = rec('a', report(), 2);
  c.setOwn(a2, 10);
  t.notOk(c.applyStored('a', a1, 9), 'an older event is ignored');
  t.notOk(c.applyStored('a', a1, 10), 'the echo of the own write too');
  t.same(c.get('a'), a2, 'the own write (the cache holds its own copy)');
  t.ok(c.applyStored('a', null, 11), 'a later delete applies');
  t.equal(c.get('a'), undefined);
  t.ok(c.applyStored('b', rec('b', report()), 12));
  t.equal(c.size, 1);
});

t.test('cache: while the watch is lost, ages of records not received here stand still', async (t) => {
  const c = new EtcdCache();
  c.applyStored('remote', rec('remote', report(), 1000), 5);
  c.setOwn(rec('before', report(), 1500), 6);
  c.watchLost(2000);
  c.setOwn(rec('here', report(), 2500), -1);
  t.ok(c.freeze(5000));
  t.equal(c.get('remote')?.receivedMonoMs, 4000, 'remote: 3 s later, the same age (1 s at the loss)');
  t.equal(c.get('before')?.receivedMonoMs, 4500, 'received here before the loss: frozen too (the agent may report elsewhere now)');
  t.equal(c.get('here')?.receivedMonoMs, 2500, 'received here during the outage: ages normally');
  // The monitor re-renders an agent whose record object changes: a tick moves the same object.
  const frozen = c.get('remote');
  t.ok(c.freeze(6000));
  t.equal(c.get('remote'), frozen, 'the same object');
  t.equal(c.get('remote')?.receivedMonoMs, 5000, 'moved by the second that passed');
  const found = new Map([['remote', { record: rec('remote', report(), 900), rev: 5 }]]);
  t.ok(c.reload(found, 20, (n) => n === 'here'));
  t.equal(c.get('remote')?.receivedMonoMs, 900, 'the reload replaces the frozen copy with the stored age');
  t.equal(c.get('remote'), frozen, 'the same revision: the same object, so nothing is re-rendered');
  t.equal(c.get('before'), undefined, 'gone from etcd: dropped');
  t.ok(c.get('here'), 'waiting for write-back: kept');
  t.notOk(c.freeze(9000), 'no freeze after the reload');
});

t.test('lease pool: one grant per window and TTL, a lost lease re-granted', async (t) => {
  let mono = 0;
  const grants: number[] = [];
  const pool = new LeasePool(
    async (ttl) => {
      grants.push(ttl);
      return `lease-${grants.length}`;
    },
    { monoMs: () => mono, wallMs: () => mono },
  );
  t.equal(leaseWindowSeconds(300), 30);
  t.equal(leaseWindowSeconds(2), 1);
  const [x, y] = await Promise.all([pool.leaseFor(300), pool.leaseFor(300)]);
  t.equal(x, y, 'concurrent puts share one grant');
  t.same(grants, [330], 'granted for TTL + window');
  mono += 29_000;
  t.equal(await pool.leaseFor(300), x, 'reused within the window');
  mono += 1_000;
  t.equal(await pool.leaseFor(300), 'lease-2', 'a new lease once the window is over');
  await pool.forget('lease-2');
  t.equal(await pool.leaseFor(300), 'lease-3', 'a forgotten (lost) lease is granted anew');
  t.equal(await pool.leaseFor(600), 'lease-4', 'another TTL, another lease');
});

t.test('cache: a late echo of a write does not bring back what this replica deleted', async (t) => {
  const c = new EtcdCache();
  const r = rec('a', report());
  c.setOwn(r, 10);
  c.deleteOwn('a');
  t.notOk(c.applyStored('a', r, 10), 'the echo of the put at 10 arrives after the delete');
  t.equal(c.get('a'), undefined);
  t.notOk(
    c.reload(new Map([['a', { record: r, rev: 10 }]]), 11, () => false),
    'a reload before the delete landed neither',
  );
  t.notOk(c.applyStored('a', null, 12), 'the delete itself');
  t.ok(c.applyStored('a', r, 13), 'a later write by anyone counts again');
});
