// Fuzzing the report decoder: >= 100,000 inputs per run (valid reports with the decoder's
// leniency, near-valid ones, mutated original-agent fixtures). It never throws, answers a code of
// the error table, every accepted report round-trips, and no key reaches a prototype.
// A failure prints fast-check's seed and path; replay exactly that case with
//   FUZZ_SEED=<seed> FUZZ_PATH=<path> npx tap test/fuzz-decode.test.ts
// (the path is given to every property of that seed; the one named in the failure is the case).
// Round trip: decode -> encodeRecord (the etcd value: the API's record shape plus our additions,
// itself a report body) -> decodeRecord must give the same report and receipt time; that is the
// path every stored record takes. The API's own shape (report/encode.ts recordJson) must decode to the same report
// minus the additions it leaves out.
import fc from 'fast-check';
import t from 'tap';
import { ERRORS } from '../exporter/errors.js';
import { recordJson } from '../report/encode.js';
import { decodeRecord, encodeRecord } from '../exporter/store/record-codec.js';
import { decodeReport } from '../report/decode.js';
import type { Report } from '../report/schema.js';
import { originalReports } from './helpers/exporter.js';
import { byteMutation, fuzzSeeds, nearValidReport, toText, treeMutation, validReport } from './helpers/fuzz.js';

const PROTO_KEYS = Object.getOwnPropertyNames(Object.prototype).join();
const RECEIVED_WALL_MS = Date.parse('2026-11-26T07:17:36.123Z');
const ADDRESS_MAPS = new Set(['nslookup', 'ips']);

/** Deep equality with numbers compared by value (-0 is 0 once serialised) and own keys only. */
function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (typeof a === 'object' && a !== null) {
    if (typeof b !== 'object' || b === null || Array.isArray(b)) return false;
    const ka = Object.keys(a);
    return (
      ka.length === Object.keys(b).length &&
      ka.every((k) => Object.hasOwn(b, k) && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    );
  }
  return a === b;
}

/** Every object has a plain prototype and only data properties; `__proto__` is an own key only where the sender named an interface or host so. */
function plain(v: unknown, at: string): void {
  if (typeof v !== 'object' || v === null) return;
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== (Array.isArray(v) ? Array.prototype : Object.prototype)) throw new Error(`${at} has a foreign prototype`);
  for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(v))) {
    if (!('value' in d)) throw new Error(`${at}.${k} is an accessor`);
    if (k === '__proto__' && !ADDRESS_MAPS.has(at.split('.').pop() ?? '')) throw new Error(`${at} has an own __proto__`);
    plain(d.value, `${at}.${k}`);
  }
}

function roundTrip(report: Report): void {
  const stored = decodeRecord(Buffer.from(encodeRecord({ name: 'agent-a', report, receivedMonoMs: 0, receivedWallMs: RECEIVED_WALL_MS })));
  if (!stored.ok) throw new Error(`stored record does not decode: ${stored.error}`);
  if (!same(stored.value.report, report) || stored.value.receivedWallMs !== RECEIVED_WALL_MS)
    throw new Error('stored record differs after the round trip');
  const served = decodeReport(JSON.stringify(recordJson(report, RECEIVED_WALL_MS)));
  const expected = {
    ...report,
    listen: null,
    dns: null,
    peers: null,
    icmpAvailable: null,
    pathMtu: null,
    integrity: null,
    apiServer: null,
    mustBeBlocked: null,
  };
  if (!served.ok || !same(served.value, expected))
    throw new Error(`served record does not decode to the report: ${served.ok ? 'differs' : served.code}`);
}

/**
 * decode.ts cuts the original's all-zero "zero_extender" padding from the text before parsing; a
 * space before the colon makes it take the general path. Both paths must give the same answer:
 * the same reports with the same value, the same refusals with the same code.
 */
function differential(text: string, fast: ReturnType<typeof decodeReport>): void {
  if (!text.includes('"zero_extender":[')) return;
  const general = decodeReport(text.replaceAll('"zero_extender":[', '"zero_extender" :['));
  if (
    fast.ok !== general.ok ||
    (fast.ok && general.ok && !same(fast.value, general.value)) ||
    (!fast.ok && !general.ok && fast.code !== general.code)
  ) {
    throw new Error(
      `padding cut changes the result: ${fast.ok ? 'ok' : fast.code} vs ${general.ok ? 'ok' : general.code} for ${JSON.stringify(text.slice(0, 300))}`,
    );
  }
}

const outcomes = new Map<string, number>();
let inputs = 0;

/** Decodes one input and checks every property; returns "ok" or the error code. */
function check(text: string): string {
  inputs++;
  let r: ReturnType<typeof decodeReport>;
  try {
    r = decodeReport(text);
  } catch (e) {
    throw new Error(`decodeReport threw: ${String(e)}`);
  }
  if (Object.getOwnPropertyNames(Object.prototype).join() !== PROTO_KEYS || ({} as Record<string, unknown>).polluted !== undefined) {
    throw new Error('Object.prototype was changed');
  }
  const outcome = r.ok ? 'ok' : r.code;
  differential(text, r);
  if (!r.ok && (!Object.hasOwn(ERRORS, r.code) || typeof r.detail !== 'string'))
    throw new Error(`result ${JSON.stringify(r)} is not in the error table`);
  if (r.ok) {
    plain(r.value, 'report');
    roundTrip(r.value);
    if (text.includes('"__proto__"')) outcomes.set('ok with __proto__', (outcomes.get('ok with __proto__') ?? 0) + 1);
  }
  outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  return outcome;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const fixtures = originalReports();
const RUNS = { valid: 6_000, nearValid: 4_000, treePerFixture: 4_000, bytesPerFixture: 12_500 };

for (const { label, seed, path } of fuzzSeeds()) {
  t.test(`${label} seed ${seed}`, async (t) => {
    t.comment(`fast-check seed ${seed}${path ? ` path ${path}` : ''} (replay: FUZZ_SEED=${seed} npx tap test/fuzz-decode.test.ts)`);
    const run = <T extends [unknown]>(name: string, prop: fc.IProperty<T>, numRuns: number): void => {
      outcomes.clear();
      const started = performance.now();
      const before = inputs;
      try {
        fc.assert(prop, { seed, numRuns, ...(path ? { path } : {}) });
        t.pass(`${name}: ${inputs - before} inputs`);
      } catch (e) {
        t.fail(`${name}: ${(e as Error).message.split('\n').slice(0, 12).join('\n')}`);
      }
      t.comment(`${name}: ${Math.round(performance.now() - started)} ms, ${JSON.stringify(Object.fromEntries(outcomes))}`);
    };

    run(
      'valid reports are accepted',
      fc.property(validReport, (body) => check(toText(body)) === 'ok'),
      RUNS.valid,
    );
    t.ok((outcomes.get('ok with __proto__') ?? 0) > 100, 'accepted reports carried __proto__ keys');
    run(
      'near-valid reports get their code',
      fc.property(nearValidReport, ({ body, code }) => check(toText(body)) === code),
      RUNS.nearValid,
    );
    for (const f of fixtures) {
      run(
        `${f.kind} fixture, structural mutations`,
        fc.property(treeMutation(f.body.toString()), (text) => void check(text)),
        RUNS.treePerFixture,
      );
      t.ok((outcomes.get('ok') ?? 0) > 100 && outcomes.size >= 4, 'mutations reach both acceptance and several rejections');
      run(
        `${f.kind} fixture, byte mutations`,
        fc.property(byteMutation(f.body), (bytes) => {
          let text: string | null = null;
          try {
            text = utf8.decode(bytes); // what body.ts hands the decoder
          } catch {
            check(bytes.toString('latin1')); // invalid UTF-8 never reaches it; try it as Latin-1 and with U+FFFD
            text = bytes.toString('utf8');
          }
          check(text);
        }),
        RUNS.bytesPerFixture,
      );
    }
  });
}

t.test('input count', async (t) => {
  const perSeed = RUNS.valid + RUNS.nearValid + fixtures.length * (RUNS.treePerFixture + RUNS.bytesPerFixture);
  t.ok(inputs >= (process.env.FUZZ_SEED ? perSeed : 100_000), `${inputs} inputs decoded`);
});
