// Measurement integrity: a blocked event loop is measured and flags the round as starved;
// cgroup cpu.stat readings (v1 and v2 keys are the same) turn into a throttled ratio.
import t from 'tap';
import { integrityOf, IntegrityMonitor, parseCpuStat, STARVED, throttledRatio } from '../agent/integrity.js';

t.test('cpu.stat and the throttled ratio', async (t) => {
  const v2 = 'usage_usec 8331\nuser_usec 5000\nsystem_usec 3331\nnr_periods 120\nnr_throttled 30\nthrottled_usec 90000\n';
  t.same(parseCpuStat(v2), { periods: 120, throttled: 30 });
  t.same(parseCpuStat('nr_periods 0\nnr_throttled 0\nthrottled_time 0\n'), { periods: 0, throttled: 0 });
  t.equal(parseCpuStat('usage_usec 1\n'), null, 'no quota keys: unknown');
  t.equal(throttledRatio({ periods: 100, throttled: 10 }, { periods: 200, throttled: 60 }), 0.5);
  t.equal(throttledRatio({ periods: 0, throttled: 0 }, { periods: 0, throttled: 0 }), null, 'no quota periods ran: unknown');
  t.equal(throttledRatio(null, { periods: 1, throttled: 1 }), null);
});

t.test('starved when lag or throttling passes its limit', async (t) => {
  t.same(integrityOf(3.5, 0.01), { event_loop_lag_ms: 3.5, cpu_throttled_ratio: 0.01, starved: false });
  t.equal(integrityOf(STARVED.lagMs, null).starved, true);
  t.equal(integrityOf(1, STARVED.throttledRatio).starved, true);
});

t.test('a blocked event loop is measured', async (t) => {
  const m = await IntegrityMonitor.start();
  t.teardown(() => m.stop());
  await new Promise((r) => setTimeout(r, 200));
  const calm = await m.take();
  t.ok(calm.event_loop_lag_ms < STARVED.lagMs, `idle: ${calm.event_loop_lag_ms} ms`);
  const until = Date.now() + 400;
  while (Date.now() < until); // the agent's event loop held for 400 ms
  await new Promise((r) => setTimeout(r, 100));
  const blocked = await m.take();
  t.ok(blocked.event_loop_lag_ms >= 300, `blocked: ${blocked.event_loop_lag_ms} ms`);
  t.equal(blocked.starved, true);
  t.ok((await m.take()).event_loop_lag_ms < 300, 'each round starts afresh');
});
