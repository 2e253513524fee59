// Decodes a report body (any agent, ours or the original) into a validated Report.
// Lenient where the original Go server was (key case, nulls, unknown keys, missing uptime,
// saturated durations), strict on types and ranges. Pure: no I/O, never throws.

import { LIMITS, NETWORKS, SATURATED_MS, type Network, type Phase, PHASES, type Probe, type Report } from './schema.js';

export type DecodeErrorCode = 'invalid_json' | 'too_deep' | 'not_an_object' | 'missing_field' | 'invalid_field';
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

/** Deepest nesting of arrays/objects in a JSON text, counted without parsing (strings skipped). */
export function nestingDepth(text: string, stopAbove: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max && (max = depth) > stopAbove) return max;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

export function decodeReport(text: string): Decoded<Report> {
  if (nestingDepth(text, LIMITS.nestingMax) > LIMITS.nestingMax) {
    return { ok: false, code: 'too_deep', detail: `JSON nesting deeper than ${LIMITS.nestingMax} levels` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, code: 'invalid_json', detail: 'body is not valid JSON' };
  }
  if (!isObj(raw)) return { ok: false, code: 'not_an_object', detail: 'body must be a JSON object' };
  try {
    return { ok: true, value: reportFrom(raw) };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, code: e.code, detail: e.detail };
    throw e;
  }
}

/** Keys matched case-insensitively, as Go's encoding/json did; later duplicates win, as in Go. */
function lowerKeys(o: Obj): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const k of Object.keys(o)) m.set(k.toLowerCase(), o[k]);
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
  };
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(field, `must be an integer from ${min} to ${max}`);
  }
  return v as number;
}

function optString(v: unknown, field: string, maxLength: number): string | null {
  if (v == null) return null;
  if (typeof v !== 'string' || v.length > maxLength) fail(field, `must be a string of at most ${maxLength} characters`);
  return v as string;
}

/** `{name: [address, ...]}`, the shape of both nslookup and ips; null values read as []. */
function addressMap(v: unknown, field: string): Record<string, string[]> | null {
  if (v == null) return null;
  if (!isObj(v)) return fail(field, 'must be an object of string arrays');
  const keys = Object.keys(v);
  if (keys.length > LIMITS.interfacesMax) fail(field, `must have at most ${LIMITS.interfacesMax} entries`);
  const out: Record<string, string[]> = {};
  for (const k of keys) {
    const list = v[k] ?? [];
    if (
      k.length > LIMITS.stringMaxLength ||
      !Array.isArray(list) ||
      list.length > LIMITS.addressesMax ||
      !list.every((a) => typeof a === 'string' && a.length <= LIMITS.stringMaxLength)
    ) {
      fail(`${field}.${k.slice(0, 64)}`, `must be an array of at most ${LIMITS.addressesMax} strings`);
    }
    out[k] = list as string[];
  }
  return out;
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
  const url = optString(m.get('url'), `${at}.URL`, LIMITS.stringMaxLength);
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

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** RFC 3339 with 0-9 fractional digits, as Go's time.Time marshals; epoch ms (sub-ms kept). */
export function rfc3339Ms(s: string): number {
  const g = RFC3339.exec(s);
  if (!g) return fail('hostdate', 'must be an RFC 3339 timestamp');
  const [y, mo, d, h, mi, sec] = g.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) fail('hostdate', 'must be an RFC 3339 timestamp');
  const offsetMin = g[8] ? 0 : (g[9] === '-' ? -1 : 1) * (Number(g[10]) * 60 + Number(g[11]));
  const fraction = g[7] ? Number(g[7]) * 1000 : 0;
  return Date.UTC(y, mo - 1, d, h, mi, sec) + fraction - offsetMin * 60_000;
}
