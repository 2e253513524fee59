// The Kubernetes store's pure parts as tables: which shard an agent lands in, how two writers'
// entries merge, which stored entries are valid, and the write budget's token bucket.
import t from 'tap';
import { decodeEntries, mergeEntries, type ShardEntry, shardIndex, shardName } from '../exporter/store/kube-shard.js';
import { WriteBudget } from '../exporter/store/write-budget.js';

const e = (receivedAt: number, node = 'n1'): ShardEntry => ({ node, intervalSeconds: 15, receivedAt });

t.test('shards: stable, spread, named with their count', async (t) => {
  t.equal(shardIndex('netchecker-agent-abcde', 32), shardIndex('netchecker-agent-abcde', 32), 'the same agent, the same shard');
  const counts = new Array<number>(32).fill(0);
  for (let i = 0; i < 10_000; i++) {
    const k = shardIndex(`netchecker-agent-${i.toString(36)}`, 32);
    counts[k] = (counts[k] ?? 0) + 1;
  }
  t.ok(Math.max(...counts) < 2 * (10_000 / 32), `no shard holds twice its share (${Math.min(...counts)}..${Math.max(...counts)})`);
  t.same([shardName(3, 32), shardName(0, 1), shardName(99, 100)], ['agents-03-of-32', 'agents-0-of-1', 'agents-99-of-100']);
});

t.test('merge: the later receipt wins unless the stored entry is still the one this writer saw', async (t) => {
  const cases: Array<
    [
      string,
      Map<string, ShardEntry>,
      Map<string, ShardEntry>,
      Map<string, number>,
      Map<string, ShardEntry | null>,
      Record<string, number | undefined>,
    ]
  > = [
    ['a new agent is added', new Map(), new Map([['a', e(10)]]), new Map(), new Map([['a', null]]), { a: 10 }],
    ['a later receipt replaces', new Map([['a', e(10)]]), new Map([['a', e(20)]]), new Map(), new Map([['a', e(10)]]), { a: 20 }],
    [
      'another writer stored a later one: it stays',
      new Map([['a', e(30, 'n2')]]),
      new Map([['a', e(20)]]),
      new Map(),
      new Map([['a', e(10)]]),
      { a: 30 },
    ],
    [
      'the entry this writer saw, whatever the clocks: replaced (its clock stepped back)',
      new Map([['a', e(30)]]),
      new Map([['a', e(20)]]),
      new Map(),
      new Map([['a', e(30)]]),
      { a: 20 },
    ],
    ['other agents of the shard stay', new Map([['b', e(5)]]), new Map([['a', e(20)]]), new Map(), new Map(), { a: 20, b: 5 }],
    ['a prune removes what it judged', new Map([['a', e(10)]]), new Map(), new Map([['a', 10]]), new Map(), { a: undefined }],
    ['a prune keeps a receipt stored after it', new Map([['a', e(40)]]), new Map(), new Map([['a', 10]]), new Map(), { a: 40 }],
  ];
  for (const [what, stored, mine, tombs, basis, want] of cases) {
    const got = mergeEntries(stored, mine, tombs, basis);
    t.same(Object.fromEntries(Object.keys(want).map((k) => [k, got.get(k)?.receivedAt])), want, what);
  }
});

t.test('decode: invalid entries are skipped and counted, valid ones kept', async (t) => {
  const ok = {
    node: 'n1',
    intervalSeconds: 15,
    receivedAt: 1_700_000_000,
    network: 'host',
    listen: '10.0.0.1:8082',
    source: '10.0.0.1',
    state: 'outdated',
  };
  const cases: Array<[string, unknown, number]> = [
    ['valid', ok, 0],
    ['no node', { ...ok, node: undefined }, 1],
    ['interval out of range', { ...ok, intervalSeconds: 0 }, 1],
    ['interval not an integer', { ...ok, intervalSeconds: 1.5 }, 1],
    ['receipt not a number', { ...ok, receivedAt: '2026' }, 1],
    ['unknown network', { ...ok, network: 'mesh' }, 1],
    ['listen with a host name', { ...ok, listen: 'node-1:8082' }, 1],
    ['source not an IP', { ...ok, source: 'somewhere' }, 1],
    ['no state (not judged yet)', { ...ok, state: undefined }, 0],
    ['a state the verdict does not know', { ...ok, state: 'broken' }, 1],
    ['not an object', 'agent', 1],
  ];
  for (const [what, raw, invalid] of cases) {
    const d = decodeEntries({ agents: { 'agent-x': raw } });
    t.same([d.entries.size, d.invalid], [1 - invalid, invalid], what);
  }
  t.same(decodeEntries({ agents: { 'Not/A/Pod': ok } }).invalid, 1, 'a key that is not an agent name');
  t.same(decodeEntries(undefined).entries.size, 0, 'no spec');
  t.same(decodeEntries({ agents: { 'agent-x': ok } }).entries.get('agent-x'), ok, 'read back as written');
});

t.test('write budget: at most perSecond on average, one second of burst', async (t) => {
  const cases: Array<[number, number, number, number]> = [
    // perSecond, take every ms, for ms, most taken (perSecond x (seconds + 1))
    [10, 1, 5000, 60],
    [10, 100, 5000, 51],
    [0.5, 10, 10_000, 6],
    [4, 0, 0, 4],
  ];
  for (const [perSecond, every, forMs, most] of cases) {
    const b = new WriteBudget(perSecond, 0);
    let taken = 0;
    for (let now = 0; now <= forMs; now += Math.max(1, every)) if (b.take(now)) taken++;
    if (every === 0) for (let i = 0; i < 100; i++) if (b.take(0)) taken++;
    t.ok(taken <= most && taken >= Math.floor(most * 0.8), `${perSecond}/s over ${forMs} ms: ${taken} taken (at most ${most})`);
  }
});
