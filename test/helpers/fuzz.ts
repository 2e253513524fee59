// fast-check arbitraries for report fuzzing (test/fuzz-*.test.ts): JSON as a tree that keeps key
// order, duplicate keys, `__proto__` keys and raw number texts (JSON.stringify could not), valid
// reports with the leniency the decoder allows, near-valid ones with the code they must get, and
// mutations of the original agent's recorded reports.

import fc from 'fast-check';
import { API_SERVER_VIAS, DNS_RESULTS, LIMITS, NETWORKS, PHASES, SATURATED_MS } from '../../report/schema.js';

/** An object as entries (duplicates and `__proto__` kept), a number as its exact text. */
export class JObj {
  constructor(readonly entries: Array<[string, Json]>) {}
}
export class JRaw {
  constructor(readonly text: string) {}
}
export type Json = null | boolean | number | string | Json[] | JObj | JRaw;

export function toText(j: Json): string {
  if (j instanceof JObj) return `{${j.entries.map(([k, v]) => `${JSON.stringify(k)}:${toText(v)}`).join(',')}}`;
  if (j instanceof JRaw) return j.text;
  if (Array.isArray(j)) return `[${j.map(toText).join(',')}]`;
  return JSON.stringify(j);
}

/** The tree of a JSON text (duplicate keys as JSON.parse leaves them). */
export function fromText(text: string): Json {
  const conv = (v: unknown): Json => {
    if (Array.isArray(v)) return v.map(conv);
    if (typeof v === 'object' && v !== null) return new JObj(Object.keys(v).map((k) => [k, conv((v as Record<string, unknown>)[k])]));
    return v as Json;
  };
  return conv(JSON.parse(text));
}

export const SPECIAL_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__'] as const;

const ABSENT = Symbol('absent');
type Maybe<T> = T | null | typeof ABSENT;
/** Valid values of an optional field: the value, null or no key at all. */
const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<Maybe<T>> =>
  fc.oneof({ arbitrary: a, weight: 4 }, fc.constant(null), fc.constant(ABSENT));

/** Any characters but the control characters reports refuse. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const noControl = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
const text = (max: number): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ maxLength: Math.min(max, 40) }).map(noControl),
    fc.string({ unit: 'binary', maxLength: Math.min(max, 40) >> 1 }).map(noControl),
    fc.constantFrom(...SPECIAL_KEYS),
    fc.constant('x'.repeat(max)),
  );
const ms = fc.oneof(fc.double({ min: 0, max: SATURATED_MS, noNaN: true }), fc.nat(100_000), fc.constant(SATURATED_MS), fc.constant(null));
/** Days in a month, leap years included: only dates that exist are valid. */
const daysIn = (y: number, mo: number): number => new Date(Date.UTC(2000 + (y % 400), mo, 0)).getUTCDate();
const rfc3339 = fc
  .tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 1, max: 12 }))
  .chain(([y, mo]) =>
    fc.tuple(
      fc.constant(y),
      fc.constant(mo),
      fc.integer({ min: 1, max: daysIn(y, mo) }),
      fc.integer({ min: 0, max: 23 }),
      fc.integer({ min: 0, max: 59 }),
      fc.integer({ min: 0, max: 59 }),
    ),
  )
  .chain((p) =>
    fc.tuple(
      fc.constant(p),
      fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 9 }),
      fc.constantFrom('T', 't'),
      fc.oneof(
        fc.constantFrom('Z', 'z'),
        fc.tuple(fc.constantFrom('+', '-'), fc.nat(23), fc.nat(59)).map(([s, h, m]) => `${s}${pad(h)}:${pad(m)}`),
      ),
    ),
  )
  .map(
    ([[y, mo, d, h, mi, s], frac, t, zone]) =>
      `${String(y).padStart(4, '0')}-${pad(mo)}-${pad(d)}${t}${pad(h)}:${pad(mi)}:${pad(s)}${frac ? `.${frac}` : ''}${zone}`,
  );
const pad = (n: number): string => String(n).padStart(2, '0');
const addressMap = fc.array(fc.tuple(text(64), fc.option(fc.array(text(64), { maxLength: 3 }))), { maxLength: 4 }).map((e) => new JObj(e));
/** Peer addresses are IP:PORT only (report/address.ts): host names are among the invalid values. */
const hostPort = fc
  .tuple(
    fc.oneof(
      fc.constantFrom('10.0.0.1', '[fd00::1]', '[::ffff:10.0.0.1]'),
      fc.ipV4(),
      fc.ipV6().map((ip) => `[${ip}]`),
    ),
    fc.integer({ min: 1, max: 65535 }),
  )
  .map(([h, p]) => `${h}:${p}`);

/** A JSON value of any type, shallow enough for unknown keys. */
export const anyJson: fc.Arbitrary<Json> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  text(20),
  fc.constant(0).map((): Json => []),
  fc.constant(0).map(() => new JObj([])),
  fc.array(fc.integer(), { maxLength: 3 }),
);

/** Builds an object from fields, dropping ABSENT ones, optionally varying key case and adding unknown keys. */
function obj(fields: Record<string, Maybe<Json>>, caseFree: boolean, variation: { caseSeed: number; extra: Array<[string, Json]> }): JObj {
  const entries: Array<[string, Json]> = [];
  let bits = variation.caseSeed;
  for (const [k, v] of Object.entries(fields)) {
    if (v === ABSENT) continue;
    const key =
      caseFree && (bits = (bits * 1103515245 + 12345) & 0x7fffffff) % 4 === 0
        ? [...k].map((c, i) => ((bits >> i) & 1 ? c.toUpperCase() : c.toLowerCase())).join('')
        : k;
    entries.push([key, v]);
  }
  for (const e of variation.extra) entries.splice(Math.abs(variation.caseSeed) % (entries.length + 1), 0, e);
  return new JObj(entries);
}
const variation = fc.record({
  caseSeed: fc.nat(),
  extra: fc.array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom(...SPECIAL_KEYS),
        fc.string({ maxLength: 8 }).map((s) => `x-${s}`),
      ),
      anyJson,
    ),
    { maxLength: 2 },
  ),
});

const probe = fc
  .tuple(
    fc.record({
      URL: text(LIMITS.probeUrlMaxLength),
      ConnectionResult: opt(fc.constantFrom(0, 1)),
      HTTPCode: opt(fc.integer({ min: 0, max: 999 })),
      Total: opt(ms),
      ContentTransfer: opt(ms),
      TCPConnection: opt(ms),
      DNSLookup: opt(ms),
      Connect: opt(ms),
      ServerProcessing: opt(ms),
      Result: opt(text(32)),
      PhasesMs: opt(fc.tuple(fc.record(Object.fromEntries(PHASES.map((p) => [p, opt(ms)]))), variation).map(([f, v]) => obj(f, false, v))),
    }),
    variation,
  )
  .map(([f, v]) => obj(f, true, v));

/**
 * A result class's shape, built once: fc.stringMatching compiles its regex into an arbitrary, and
 * built inside a chain() that cost ~25 ms per generated report.
 */
const resultText = fc.stringMatching(/^[a-z_]{1,32}$/);

const dns = fc
  .tuple(
    fc.record({
      server: text(LIMITS.nameMaxLength),
      name: text(LIMITS.nameMaxLength),
      result: fc.constantFrom(...DNS_RESULTS),
      latency_ms: opt(ms),
    }),
    variation,
  )
  .map(([f, v]) => obj(f, true, v));

const peer = fc
  .tuple(
    fc.record({
      name: text(LIMITS.nameMaxLength),
      node: opt(text(LIMITS.nameMaxLength)),
      network: fc.constantFrom(...NETWORKS),
      result: resultText,
      rtt_ms: opt(ms),
    }),
    fc.integer({ min: 0, max: LIMITS.peerAttemptsMax }).chain((sent) => fc.tuple(fc.constant(sent), fc.integer({ min: 0, max: sent }))),
    variation,
  )
  .map(([f, [sent, lost], v]) => obj({ ...f, sent, lost }, true, v));

const apiServerCheckOf = (via: string): fc.Arbitrary<JObj> =>
  fc
    .tuple(
      fc.record({
        via: fc.constant(via),
        target: text(LIMITS.nameMaxLength),
        tcp_result: resultText,
        tcp_ms: opt(ms),
        result: resultText,
        http_code: fc.integer({ min: 0, max: 999 }),
        latency_ms: opt(ms),
      }),
      variation,
    )
    .map(([f, v]) => obj(f, true, v));

/** Built once per way, not per generated report (see resultText). */
const apiServerChecks = new Map(API_SERVER_VIAS.map((via) => [via, apiServerCheckOf(via)]));
const apiServerCheck = (via: (typeof API_SERVER_VIAS)[number]): fc.Arbitrary<JObj> => apiServerChecks.get(via) as fc.Arbitrary<JObj>;

const mtu = opt(fc.integer({ min: LIMITS.mtuBytes.min, max: LIMITS.mtuBytes.max }));

/** Fields of a valid report, each valid, optional ones sometimes null or absent. */
export const reportFields = fc.record({
  report_interval: fc.integer({ min: LIMITS.intervalSeconds.min, max: LIMITS.intervalSeconds.max }),
  nodename: opt(text(LIMITS.nameMaxLength)),
  podname: opt(text(LIMITS.nameMaxLength)),
  hostdate: opt(rfc3339),
  uptime: opt(fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER))),
  nslookup: opt(addressMap),
  ips: opt(addressMap),
  network_probes: opt(fc.array(probe, { maxLength: 3 })),
  zero_extender: opt(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 5 })),
  network: opt(fc.constantFrom(...NETWORKS)),
  agent_version: opt(text(64)),
  listen: opt(hostPort),
  dns: opt(fc.array(dns, { maxLength: 3 })),
  peers: opt(fc.array(peer, { maxLength: 3 })),
  icmp_available: opt(fc.boolean()),
  path_mtu: opt(fc.tuple(fc.record({ exporter: mtu, peers: mtu }), variation).map(([f, v]) => obj(f, false, v))),
  must_be_blocked: opt(
    fc
      .subarray(['db.example:5432', '10.0.5.7:5432', '[fd00::7]:443', '169.254.169.254:80'])
      .chain((targets) =>
        fc.tuple(
          ...targets.map((target) =>
            fc.tuple(fc.record({ target: fc.constant(target), result: resultText }), variation).map(([f, v]) => obj(f, true, v)),
          ),
        ),
      ),
  ),
  api_server: opt(fc.subarray(API_SERVER_VIAS.slice()).chain((vias) => fc.tuple(...vias.map(apiServerCheck)))),
  integrity: opt(
    fc
      .tuple(
        fc.record({
          event_loop_lag_ms: fc.double({ min: 0, max: LIMITS.lagMsMax, noNaN: true }),
          cpu_throttled_ratio: opt(fc.double({ min: 0, max: 1, noNaN: true })),
          starved: fc.boolean(),
        }),
        variation,
      )
      .map(([f, v]) => obj(f, false, v)),
  ),
});

/** A valid report (the decoder must accept it): key case varied where Go ignored it, unknown keys. */
export const validReport: fc.Arbitrary<JObj> = fc.tuple(reportFields, variation).map(([f, v]) => obj(f, true, v));

/** One field of a valid report replaced by a value it must be rejected for, with the expected code. */
const BAD: Record<string, Array<[Json, 'invalid_field' | 'missing_field']>> = {
  report_interval: [
    [0, 'invalid_field'],
    [3601, 'invalid_field'],
    [1.5, 'invalid_field'],
    ['15', 'invalid_field'],
    [true, 'invalid_field'],
    [new JRaw('1e400'), 'invalid_field'],
    [new JRaw('-0'), 'invalid_field'],
    [null, 'missing_field'],
  ],
  nodename: [
    [7, 'invalid_field'],
    [new JObj([]), 'invalid_field'],
    ['n'.repeat(254), 'invalid_field'],
    ['node\u0000a', 'invalid_field'],
    ['node\n', 'invalid_field'],
  ],
  hostdate: [
    ['yesterday', 'invalid_field'],
    ['2026-13-01T00:00:00Z', 'invalid_field'],
    [5, 'invalid_field'],
    ['2026-11-26T07:17:35.1234567890Z', 'invalid_field'],
    ['2026-02-31T00:00:00Z', 'invalid_field'],
    ['2026-11-26T07:17:60Z', 'invalid_field'],
    ['2026-11-26T07:17:35+99:99', 'invalid_field'],
  ],
  uptime: [
    [-1, 'invalid_field'],
    [1.5, 'invalid_field'],
    ['1', 'invalid_field'],
    [new JRaw('1e300'), 'invalid_field'],
  ],
  nslookup: [
    [[], 'invalid_field'],
    ['x', 'invalid_field'],
    [new JObj([['a', 'x']]), 'invalid_field'],
    [new JObj([['__proto__', [1]]]), 'invalid_field'],
  ],
  ips: [
    [new JObj([['eth0', [1]]]), 'invalid_field'],
    [new JObj([['constructor', new JObj([])]]), 'invalid_field'],
  ],
  network_probes: [
    [new JObj([]), 'invalid_field'],
    [['x'], 'invalid_field'],
    [[new JObj([])], 'missing_field'],
    [
      [
        new JObj([
          ['URL', 'u'],
          ['Total', -1],
        ]),
      ],
      'invalid_field',
    ],
  ],
  zero_extender: [
    ['000', 'invalid_field'],
    [[null], 'invalid_field'],
    [['0'], 'invalid_field'],
  ],
  network: [
    ['wifi', 'invalid_field'],
    [1, 'invalid_field'],
  ],
  listen: [
    ['10.0.0.1', 'invalid_field'],
    ['10.0.0.1:0', 'invalid_field'],
    ['a:70000', 'invalid_field'],
    ['node-a.example:8090', 'invalid_field'],
    ['[fd00::1::2]:1', 'invalid_field'],
    ['010.0.0.1:1', 'invalid_field'],
  ],
  dns: [
    [new JObj([]), 'invalid_field'],
    [
      [
        new JObj([
          ['server', 's'],
          ['name', 'n'],
          ['result', 'great'],
        ]),
      ],
      'invalid_field',
    ],
  ],
  peers: [
    [
      [
        new JObj([
          ['name', 'p'],
          ['network', 'pod'],
          ['result', 'ok'],
          ['sent', 1],
          ['lost', 2],
        ]),
      ],
      'invalid_field',
    ],
  ],
  icmp_available: [['yes', 'invalid_field']],
  path_mtu: [
    [new JObj([['exporter', 12]]), 'invalid_field'],
    [5, 'invalid_field'],
  ],
  integrity: [
    [
      new JObj([
        ['event_loop_lag_ms', -1],
        ['starved', false],
      ]),
      'invalid_field',
    ],
    [new JObj([['event_loop_lag_ms', 1]]), 'missing_field'],
  ],
};

export const nearValidReport: fc.Arbitrary<{ body: JObj; code: string }> = fc
  .tuple(reportFields, fc.constantFrom(...Object.keys(BAD)), fc.nat())
  .map(([fields, field, i]) => {
    const bad = BAD[field] as Array<[Json, string]>;
    const [value, code] = bad[i % bad.length] as [Json, string];
    return { body: obj({ ...fields, [field]: value }, false, { caseSeed: 0, extra: [] }), code };
  });

const HUGE = [
  '1e400',
  '-1e400',
  '1e308',
  '123456789012345678901234567890',
  '-0',
  '4.9e-324',
  '9223372036854',
  '9223372036855',
  '9007199254740993',
  '0.1e1',
  '1E2',
];
const wrap = (v: Json, n: number): Json => (n === 0 ? v : wrap(n % 2 ? [v] : new JObj([['a', v]]), n - 1));
const polluter = (): JObj =>
  new JObj([
    ['polluted', true],
    ['__proto__', new JObj([['polluted', true]])],
  ]);
const TREE_OPS = ['delete', 'duplicate', 'swap', 'huge', 'nest', 'special', 'specialEverywhere', 'case'] as const;
type TreeOp = [(typeof TREE_OPS)[number], number, number, Json, string];

function containers(j: Json, out: Array<JObj | Json[]> = []): Array<JObj | Json[]> {
  if (j instanceof JObj) {
    out.push(j);
    for (const [, v] of j.entries) containers(v, out);
  } else if (Array.isArray(j)) {
    out.push(j);
    for (const v of j) containers(v, out);
  }
  return out;
}

function applyTreeOp(root: Json, [op, at, i, value, special]: TreeOp): void {
  const all = containers(root);
  const c = all[at % all.length] as JObj | Json[];
  const entries: Array<[string, Json]> | Json[] = c instanceof JObj ? c.entries : c;
  const n = entries.length;
  const k = i % Math.max(n, 1);
  const set = (v: Json): void => {
    if (n === 0) return;
    if (c instanceof JObj) (c.entries[k] as [string, Json])[1] = v;
    else c[k] = v;
  };
  const get = (): Json => (c instanceof JObj ? (c.entries[k]?.[1] ?? null) : (c[k] ?? null));
  if (op === 'delete') entries.splice(k, 1);
  else if (op === 'duplicate' && c instanceof JObj && n > 0) c.entries.splice(k, 0, [(c.entries[k] as [string, Json])[0], value]);
  else if (op === 'duplicate' && !(c instanceof JObj)) c.splice(k, 0, get());
  else if (op === 'swap') set(value);
  else if (op === 'huge') set(new JRaw(HUGE[i % HUGE.length] as string));
  else if (op === 'nest') set(wrap(get(), 1 + (i % 40)));
  else if (op === 'special' && c instanceof JObj) c.entries.splice(k, 0, [special, i % 2 ? polluter() : value]);
  else if (op === 'special') (c as Json[]).splice(k, 0, new JObj([[special, polluter()]]));
  else if (op === 'specialEverywhere') {
    for (const o of all) if (o instanceof JObj) o.entries.push([special, i % 2 ? polluter() : fromText(toText(value))]);
  } else if (op === 'case' && c instanceof JObj && n > 0)
    (c.entries[k] as [string, Json])[0] = (c.entries[k] as [string, Json])[0].toUpperCase();
}

/** A fixture (JSON text) with 1-4 structural mutations: keys deleted or duplicated, types swapped, huge numbers, deep nesting, `__proto__`/`constructor`/`prototype` keys. */
export const treeMutation = (fixture: string): fc.Arbitrary<string> =>
  fc
    .array(fc.tuple(fc.constantFrom(...TREE_OPS), fc.nat(), fc.nat(), anyJson, fc.constantFrom(...SPECIAL_KEYS)), {
      minLength: 1,
      maxLength: 4,
    })
    .map((ops) => {
      const tree = fromText(fixture);
      // Generated values are copied: fast-check may hand the same ones to a replay or a shrink.
      for (const [op, at, i, value, special] of ops) applyTreeOp(tree, [op, at, i, fromText(toText(value)), special]);
      return toText(tree);
    });

/** A body with 1-4 byte-level mutations: bit flips, truncation, deletion, duplication, inserted bytes (invalid UTF-8 among them). */
export const byteMutation = (body: Buffer): fc.Arbitrary<Buffer> =>
  fc
    .array(
      fc.tuple(
        fc.constantFrom('flip', 'truncate', 'delete', 'duplicate', 'insert'),
        fc.nat(),
        fc.nat(64),
        fc.uint8Array({ minLength: 1, maxLength: 4 }),
      ),
      { minLength: 1, maxLength: 4 },
    )
    .map((ops) => {
      let b = Buffer.from(body);
      for (const [op, at, len, bytes] of ops) {
        const p = at % (b.length + 1);
        if (op === 'flip' && p < b.length) b[p] = (b[p] as number) ^ (1 << (len % 8));
        else if (op === 'truncate') b = b.subarray(0, p);
        else if (op === 'delete') b = Buffer.concat([b.subarray(0, p), b.subarray(p + len)]);
        else if (op === 'duplicate') b = Buffer.concat([b.subarray(0, p + len), b.subarray(p)]);
        else b = Buffer.concat([b.subarray(0, p), bytes, b.subarray(p)]);
      }
      return b;
    });

/** The fixed seed, then one random seed per run; FUZZ_SEED (and FUZZ_PATH) replay exactly one. */
export function fuzzSeeds(env: NodeJS.ProcessEnv = process.env): Array<{ label: string; seed: number; path?: string }> {
  if (env.FUZZ_SEED) return [{ label: 'replay', seed: Number(env.FUZZ_SEED), ...(env.FUZZ_PATH ? { path: env.FUZZ_PATH } : {}) }];
  return [
    { label: 'fixed', seed: 20261126 },
    { label: 'random', seed: (Math.random() * 2 ** 31) | 0 },
  ];
}
