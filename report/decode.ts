// Decodes a report body (any agent, ours or the original) into a validated Report.
// Lenient where the original Go server was (key case, nulls, unknown keys, missing uptime,
// saturated durations), strict on types and ranges. Pure: no I/O, never throws.

import { parsePeerAddress } from './address.js';
import {
  DNS_RESULTS,
  type DnsQuery,
  type DnsResult,
  type Integrity,
  LIMITS,
  NETWORKS,
  type Network,
  type PeerResult,
  type Phase,
  PHASES,
  type Probe,
  type Report,
  SATURATED_MS,
} from './schema.js';

export type DecodeErrorCode = 'invalid_json' | 'too_deep' | 'too_many_values' | 'not_an_object' | 'missing_field' | 'invalid_field';
export type Decoded<T> = { ok: true; value: T } | { ok: false; code: DecodeErrorCode; detail: string };

type Obj = Record<string, unknown>;

class Invalid {
  constructor(
    readonly code: DecodeErrorCode,
    readonly detail: string,
  ) {}
}

const fail = (field: string, rule: string): never => {
  throw new Invalid('invalid_field', `${field} ${rule}`);
};

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Arrays, objects and keys the largest valid report holds (address maps, probes with phases, DNS
 * queries, peers, a few fixed fields), doubled for unknown keys the original ignored. JSON.parse of
 * a body of millions of them (e.g. `[[],[],...]` up to --max-body-bytes) blocks the event loop for
 * a good part of a second; counting them first costs one scan of a few ms.
 */
const MEMBERS_MAX =
  2 * (2 * (1 + 2 * LIMITS.interfacesMax) + LIMITS.probesMax * (2 + 11 + PHASES.length) + LIMITS.dnsQueriesMax * 5 + LIMITS.peersMax * 8 + 64);

/**
 * Array entries and object members in all (one per comma, so an empty or one-entry array counts
 * none). Members are bounded above; this bounds what they leave out: long arrays of numbers or
 * strings (`[0,0,...]` of 2 million entries in 4 MiB cost 150 ms to parse). The largest real
 * reports hold far fewer: a 1 MiB hostNetwork report lists about 35,000 addresses, and the
 * original agent's zero padding (up to 65,535 entries) is cut before the scan. 65,536 entries
 * parse in a few ms.
 */
export const VALUES_MAX = 65_536;

/** Where a scan of a JSON text stands; a scan can stop at one offset and go on from another. */
interface Scan {
  depth: number;
  max: number;
  members: number;
  values: number;
  inString: boolean;
}

const newScan = (): Scan => ({ depth: 0, max: 0, members: 0, values: 0, inString: false });

/** Scans text[from, to) on from `s`: nesting, arrays, objects and keys, commas; strings skipped. */
function scan(s: Scan, text: string, from: number, to: number, maxDepth: number, maxMembers: number, maxValues = VALUES_MAX): void {
  let { depth, max, members, values, inString } = s;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if ((++depth > max && (max = depth) > maxDepth) || ++members > maxMembers) break;
    } else if (c === 0x3a) {
      if (++members > maxMembers) break;
    } else if (c === 0x2c) {
      if (++values > maxValues) break;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  Object.assign(s, { depth, max, members, values, inString });
}

/**
 * Deepest nesting, number of arrays, objects and keys, and of commas in a JSON text, counted
 * without parsing (strings skipped); stops early once any passes its bound.
 */
export function jsonShape(text: string, maxDepth: number, maxMembers: number, maxValues = Infinity): { depth: number; members: number; values: number } {
  const s = newScan();
  scan(s, text, 0, text.length, maxDepth, maxMembers, maxValues);
  return { depth: s.max, members: s.members, values: s.values };
}

export const nestingDepth = (text: string, stopAbove: number): number => jsonShape(text, stopAbove, Infinity).depth;

/*
 * The original agent pads every report with "zero_extender":[0,0,...] (1,500 zeros, 3 KB of its
 * 3.7 KB), which the server drops. Scanning and parsing that array was most of the cost of a
 * report, so a top-level all-zero padding is compared with a string of zeros and cut
 * from the text before the parse. Anything else (other values, other spacing or case, a second
 * padding key) takes the general path, so the result is always what the general path gives.
 */
const PADDING_KEY = '"zero_extender":[';
const ZEROS = '0,'.repeat(65_536);

/** The all-zero padding as [start, end): key, array and one comma, so that the rest is the same object without it. */
function paddingSpan(text: string): [number, number] | null {
  const at = text.indexOf(PADDING_KEY);
  if (at < 1) return null;
  const open = at + PADDING_KEY.length;
  const close = text.indexOf(']', open);
  const n = close - open; // "0" or "0,0,...,0": odd lengths only
  // Equality of two substrings is a memcmp; startsWith compares character by character.
  if (close < 0 || (n > 0 && (n % 2 === 0 || n >= ZEROS.length || text.substring(open, close) !== ZEROS.substring(0, n)))) return null;
  // Only where the cut leaves a body that is valid exactly when the whole one is: in an object
  // that starts the text, between a `{` or `,` and the next key, or after a value and before `}`.
  const before = text.charCodeAt(at - 1);
  const after = text.charCodeAt(close + 1);
  if (text.charCodeAt(0) !== 0x7b) return null;
  if (after === 0x2c && text.charCodeAt(close + 2) === 0x22 && (before === 0x7b || before === 0x2c)) return [at, close + 2];
  if (after === 0x7d && before === 0x2c && VALUE_ENDS.has(text.charCodeAt(at - 2))) return [at - 1, close + 1];
  return null;
}

/** Last characters of a JSON value: a string, an array, an object, true/false, null, a number. */
const VALUE_ENDS = new Set([0x22, 0x5d, 0x7d, 0x65, 0x6c, ...'0123456789'.split('').map((d) => d.charCodeAt(0))]);

/** Arrays, objects, keys and commas of the text (without its padding when it has one) and the text to parse. */
function shapeOf(text: string): { depth: number; members: number; values: number; json: string; cut: boolean } {
  const s = newScan();
  const span = paddingSpan(text);
  if (span) {
    scan(s, text, 0, span[0], LIMITS.nestingMax, MEMBERS_MAX);
    // The cut must sit between two members of the top-level object, outside any string.
    if (s.depth === 1 && !s.inString) {
      scan(s, text, span[1], text.length, LIMITS.nestingMax, MEMBERS_MAX);
      return { depth: s.max, members: s.members, values: s.values, json: text.slice(0, span[0]) + text.slice(span[1]), cut: true };
    }
    Object.assign(s, newScan());
  }
  scan(s, text, 0, text.length, LIMITS.nestingMax, MEMBERS_MAX);
  return { depth: s.max, members: s.members, values: s.values, json: text, cut: false };
}

const isPaddingKey = (k: string): boolean => k.length === 13 && k.toLowerCase() === 'zero_extender';

export function decodeReport(text: string): Decoded<Report> {
  const shape = shapeOf(text);
  if (shape.depth > LIMITS.nestingMax) {
    return { ok: false, code: 'too_deep', detail: `JSON nesting deeper than ${LIMITS.nestingMax} levels` };
  }
  if (shape.members > MEMBERS_MAX) {
    return { ok: false, code: 'too_deep', detail: `JSON with more than ${MEMBERS_MAX} arrays, objects and keys` };
  }
  if (shape.values > VALUES_MAX) {
    return { ok: false, code: 'too_many_values', detail: `JSON with more than ${VALUES_MAX} array entries and object members in all` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(shape.json);
  } catch {
    return { ok: false, code: 'invalid_json', detail: 'body is not valid JSON' };
  }
  if (!isObj(raw)) return { ok: false, code: 'not_an_object', detail: 'body must be a JSON object' };
  // Another key that Go would read as the padding: which one wins is the general path's call.
  if (shape.cut && Object.keys(raw).some(isPaddingKey)) raw = JSON.parse(text) as Obj;
  try {
    return { ok: true, value: reportFrom(raw as Obj) };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, code: e.code, detail: e.detail };
    throw e;
  }
}

/** Keys lower-cased before: every report repeats the same few dozen. Bounded, as keys are the sender's. */
const lowered = new Map<string, string>();

function lower(k: string): string {
  let l = lowered.get(k);
  if (l === undefined) {
    l = k.toLowerCase();
    if (lowered.size < 256) lowered.set(k, l);
  }
  return l;
}

/** A JSON object's fields by lower-case name. */
type Fields = Pick<Map<string, unknown>, 'get'>;

/**
 * Keys matched case-insensitively, as Go's encoding/json did; later duplicates win, as in Go.
 * An object whose keys are all lower case already (the original agent's top level, all of our
 * agent's) is read as it is: no case-variant duplicates to resolve, and no Map to build.
 */
function lowerKeys(o: Obj): Fields {
  const keys = Object.keys(o);
  if (keys.every((k) => lower(k) === k)) return { get: (k) => (Object.hasOwn(o, k) ? o[k] : undefined) };
  const m = new Map<string, unknown>();
  for (const k of keys) m.set(lower(k), o[k]);
  return m;
}

function reportFrom(o: Obj): Report {
  const m = lowerKeys(o);
  const interval = m.get('report_interval');
  if (interval === undefined || interval === null) throw new Invalid('missing_field', 'report_interval is required');
  const hostDate = optString(m.get('hostdate'), 'hostdate', 64);
  const network = m.get('network');
  if (network != null && !NETWORKS.includes(network as Network)) fail('network', `must be one of ${NETWORKS.join(', ')}`);
  const zero = m.get('zero_extender');
  if (zero != null && (!Array.isArray(zero) || !zero.every((z) => typeof z === 'number'))) {
    fail('zero_extender', 'must be an array of numbers');
  }
  return {
    intervalSeconds: int(interval, 'report_interval', LIMITS.intervalSeconds.min, LIMITS.intervalSeconds.max),
    nodeName: optString(m.get('nodename'), 'nodename', LIMITS.nameMaxLength) ?? '',
    podName: optString(m.get('podname'), 'podname', LIMITS.nameMaxLength) ?? '',
    hostDate,
    hostDateMs: hostDate === null ? null : rfc3339Ms(hostDate),
    uptimeSeconds: m.get('uptime') == null ? null : int(m.get('uptime'), 'uptime', 0, Number.MAX_SAFE_INTEGER),
    nslookup: addressMap(m.get('nslookup'), 'nslookup'),
    ips: addressMap(m.get('ips'), 'ips'),
    probes: probes(m.get('network_probes')),
    network: (network ?? null) as Network | null,
    agentVersion: optString(m.get('agent_version'), 'agent_version', 64),
    agentStartedMs: optTimestamp(m.get('agent_started'), 'agent_started'),
    listen: peerAddress(m.get('listen')),
    dns: list(m.get('dns'), 'dns', LIMITS.dnsQueriesMax, dnsQuery),
    peers: list(m.get('peers'), 'peers', LIMITS.peersMax, peerResult),
    icmpAvailable: optBool(m.get('icmp_available'), 'icmp_available'),
    pathMtu: pathMtu(m.get('path_mtu')),
    integrity: integrity(m.get('integrity')),
  };
}

// Our additions below. The original agent never sends them; each is null when absent.

/** Where peers reach the agent: IPv4:PORT or [IPv6]:PORT, never a host name (report/address.ts). */
function peerAddress(v: unknown): string | null {
  const s = optString(v, 'listen', LIMITS.nameMaxLength);
  if (s !== null && parsePeerAddress(s) === null) fail('listen', 'must be IPv4:PORT or [IPv6]:PORT (no host name) with a port from 1 to 65535');
  return s;
}

function optTimestamp(v: unknown, field: string): number | null {
  const s = optString(v, field, 64);
  return s === null ? null : rfc3339Ms(s, field);
}

function optBool(v: unknown, field: string): boolean | null {
  if (v == null) return null;
  if (typeof v !== 'boolean') fail(field, 'must be true or false');
  return v as boolean;
}

function list<T>(v: unknown, field: string, max: number, item: (o: Fields, at: string) => T): T[] | null {
  if (v == null) return null;
  if (!Array.isArray(v)) return fail(field, 'must be an array');
  if (v.length > max) fail(field, `must have at most ${max} entries`);
  return v.map((x: unknown, i) => {
    if (!isObj(x)) return fail(`${field}[${i}]`, 'must be an object');
    return item(lowerKeys(x), `${field}[${i}]`);
  });
}

function required(v: unknown, field: string, maxLength: number): string {
  const s = optString(v, field, maxLength);
  if (s === null) throw new Invalid('missing_field', `${field} is required`);
  return s;
}

function oneOf<T extends string>(v: unknown, field: string, values: readonly T[]): T {
  if (!values.includes(v as T)) fail(field, `must be one of ${values.join(', ')}`);
  return v as T;
}

function dnsQuery(m: Fields, at: string): DnsQuery {
  return {
    server: required(m.get('server'), `${at}.server`, LIMITS.nameMaxLength),
    name: required(m.get('name'), `${at}.name`, LIMITS.nameMaxLength),
    result: oneOf<DnsResult>(m.get('result'), `${at}.result`, DNS_RESULTS),
    latencyMs: duration(m.get('latency_ms'), `${at}.latency_ms`),
  };
}

/** Peer result classes are label values: short lowercase words only. */
const RESULT_WORD = /^[a-z_]{1,32}$/;

function peerResult(m: Fields, at: string): PeerResult {
  const result = m.get('result');
  if (typeof result !== 'string' || !RESULT_WORD.test(result)) fail(`${at}.result`, 'must be a result class (lowercase letters and _)');
  const sent = int(m.get('sent'), `${at}.sent`, 0, LIMITS.peerAttemptsMax);
  return {
    name: required(m.get('name'), `${at}.name`, LIMITS.nameMaxLength),
    node: optString(m.get('node'), `${at}.node`, LIMITS.nameMaxLength) ?? '',
    network: oneOf<Network>(m.get('network'), `${at}.network`, NETWORKS),
    result: result as string,
    sent,
    lost: int(m.get('lost'), `${at}.lost`, 0, sent),
    rttMs: duration(m.get('rtt_ms'), `${at}.rtt_ms`),
  };
}

function mtuBytes(v: unknown, field: string): number | null {
  return v == null ? null : int(v, field, LIMITS.mtuBytes.min, LIMITS.mtuBytes.max);
}

function pathMtu(v: unknown): NonNullable<Report['pathMtu']> | null {
  if (v == null) return null;
  if (!isObj(v)) return fail('path_mtu', 'must be an object');
  return { exporterBytes: mtuBytes(v.exporter, 'path_mtu.exporter'), peersBytes: mtuBytes(v.peers, 'path_mtu.peers') };
}

function integrity(v: unknown): Integrity | null {
  if (v == null) return null;
  if (!isObj(v)) return fail('integrity', 'must be an object');
  const lag = v.event_loop_lag_ms;
  if (typeof lag !== 'number' || !Number.isFinite(lag) || lag < 0 || lag > LIMITS.lagMsMax) {
    fail('integrity.event_loop_lag_ms', `must be a number of milliseconds from 0 to ${LIMITS.lagMsMax}`);
  }
  const ratio = v.cpu_throttled_ratio;
  if (ratio != null && (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1))) fail('integrity.cpu_throttled_ratio', 'must be a number from 0 to 1');
  const starved = optBool(v.starved, 'integrity.starved');
  if (starved === null) throw new Invalid('missing_field', 'integrity.starved is required');
  return { eventLoopLagMs: lag as number, cpuThrottledRatio: (ratio ?? null) as number | null, starved };
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(field, `must be an integer from ${min} to ${max}`);
  }
  return v as number;
}

/**
 * C0 and C1 control characters, DEL and NUL. Report strings become label values and JSON that
 * operators read in terminals; no field of a real report has one.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function optString(v: unknown, field: string, maxLength: number): string | null {
  if (v == null) return null;
  if (typeof v !== 'string' || v.length > maxLength) fail(field, `must be a string of at most ${maxLength} characters`);
  if (CONTROL.test(v as string)) fail(field, 'must not contain control characters');
  return v as string;
}

function allShortStrings(list: readonly unknown[]): boolean {
  for (const a of list) if (typeof a !== 'string' || a.length > LIMITS.stringMaxLength || CONTROL.test(a)) return false;
  return true;
}

/** `{name: [address, ...]}`, the shape of both nslookup and ips; null values read as []. */
function addressMap(v: unknown, field: string): Record<string, string[]> | null {
  if (v == null) return null;
  if (!isObj(v)) return fail(field, 'must be an object of string arrays');
  const keys = Object.keys(v);
  if (keys.length > LIMITS.interfacesMax) fail(field, `must have at most ${LIMITS.interfacesMax} entries`);
  const entries: Array<[string, string[]]> = [];
  for (const k of keys) {
    const list = v[k] ?? [];
    if (k.length > LIMITS.stringMaxLength || CONTROL.test(k) || !Array.isArray(list) || list.length > LIMITS.addressesMax || !allShortStrings(list)) {
      fail(`${field}.${k.slice(0, 64).replace(CONTROL, '?')}`, `must be an array of at most ${LIMITS.addressesMax} strings without control characters`);
    }
    entries.push([k, list as string[]]);
  }
  // Own data properties: a key "__proto__" (as JSON.parse keeps it) must not become the prototype.
  return Object.fromEntries(entries);
}

/** A probe duration: non-negative ms; the original's saturated value and null mean unknown. */
function duration(v: unknown, field: string): number | null {
  if (v == null || v === SATURATED_MS) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > SATURATED_MS) {
    fail(field, 'must be a non-negative number of milliseconds');
  }
  return v as number;
}

function probes(v: unknown): Probe[] | null {
  if (v == null) return null;
  if (!Array.isArray(v)) return fail('network_probes', 'must be an array');
  if (v.length > LIMITS.probesMax) fail('network_probes', `must have at most ${LIMITS.probesMax} entries`);
  return v.map((p: unknown, i) => probe(p, `network_probes[${i}]`));
}

function probe(p: unknown, at: string): Probe {
  if (!isObj(p)) return fail(at, 'must be an object');
  const m = lowerKeys(p);
  const url = optString(m.get('url'), `${at}.URL`, LIMITS.probeUrlMaxLength);
  if (url === null) throw new Invalid('missing_field', `${at}.URL is required`);
  return {
    url,
    connectionResult: m.get('connectionresult') == null ? 0 : int(m.get('connectionresult'), `${at}.ConnectionResult`, 0, 1),
    httpCode: m.get('httpcode') == null ? 0 : int(m.get('httpcode'), `${at}.HTTPCode`, 0, 999),
    totalMs: duration(m.get('total'), `${at}.Total`),
    contentTransferMs: duration(m.get('contenttransfer'), `${at}.ContentTransfer`),
    tcpConnectionMs: duration(m.get('tcpconnection'), `${at}.TCPConnection`),
    dnsLookupMs: duration(m.get('dnslookup'), `${at}.DNSLookup`),
    connectMs: duration(m.get('connect'), `${at}.Connect`),
    serverProcessingMs: duration(m.get('serverprocessing'), `${at}.ServerProcessing`),
    result: optString(m.get('result'), `${at}.Result`, 32),
    phasesMs: phases(m.get('phasesms'), `${at}.PhasesMs`),
  };
}

function phases(v: unknown, at: string): Partial<Record<Phase, number>> | null {
  if (v == null) return null;
  if (!isObj(v)) return fail(at, 'must be an object');
  const out: Partial<Record<Phase, number>> = {};
  for (const phase of PHASES) {
    const d = duration(v[phase], `${at}.${phase}`);
    if (d !== null) out[phase] = d;
  }
  return out;
}

/** The ASCII digits at [from, from + count) as a number, or -1 if any is not a digit. */
function digits(s: string, from: number, count: number): number {
  let v = 0;
  for (let i = from; i < from + count; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (!(d >= 0 && d <= 9)) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Days in month `mo` (1-12) of year `y`, leap years by the Gregorian rule (RFC 3339 section 5.7). */
function daysIn(y: number, mo: number): number {
  if (mo === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
  return mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
}

/**
 * RFC 3339 with 0-9 fractional digits, as Go's time.Time marshals; epoch ms (sub-ms kept).
 * `YYYY-MM-DDTHH:MM:SS[.F{1,9}](Z|+HH:MM|-HH:MM)`, T and Z in either case. Read by hand: the
 * regular expression it replaces was the costliest single step of decoding a report.
 * Dates must exist (no Feb 31) and offsets be at most 23:59. Second 60 is refused as Go's
 * time.Parse refuses it (the original server read hostdate with it, and Go never writes one):
 * a leap second cannot be told from a bad clock without a leap second table.
 */
export function rfc3339Ms(s: string, field = 'hostdate'): number {
  const bad = (): never => fail(field, 'must be an RFC 3339 timestamp');
  if (s.length < 20 || s.charCodeAt(4) !== 0x2d || s.charCodeAt(7) !== 0x2d || (s.charCodeAt(10) | 0x20) !== 0x74) return bad();
  if (s.charCodeAt(13) !== 0x3a || s.charCodeAt(16) !== 0x3a) return bad();
  const [y, mo, d, h, mi, sec] = [digits(s, 0, 4), digits(s, 5, 2), digits(s, 8, 2), digits(s, 11, 2), digits(s, 14, 2), digits(s, 17, 2)];
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) return bad();
  let at = 19;
  let fraction = 0;
  if (s.charCodeAt(at) === 0x2e) {
    let end = at + 1;
    while (end < s.length && end - at <= 9 && digits(s, end, 1) >= 0) end++;
    if (end === at + 1) return bad();
    fraction = Number(s.slice(at, end)) * 1000;
    at = end;
  }
  let offsetMin = 0;
  if ((s.charCodeAt(at) | 0x20) === 0x7a) at++;
  else {
    const sign = s.charCodeAt(at) === 0x2d ? -1 : s.charCodeAt(at) === 0x2b ? 1 : 0;
    const oh = digits(s, at + 1, 2);
    const om = digits(s, at + 4, 2);
    if (sign === 0 || oh < 0 || oh > 23 || om < 0 || om > 59 || s.charCodeAt(at + 3) !== 0x3a) return bad();
    offsetMin = sign * (oh * 60 + om);
    at += 6;
  }
  if (at !== s.length) return bad();
  return Date.UTC(y, mo - 1, d, h, mi, sec) + fraction - offsetMin * 60_000;
}
