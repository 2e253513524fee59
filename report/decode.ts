// Decodes a report body (any agent, ours or the original) into a validated Report.
// Lenient where the original Go server was (key case, nulls, unknown keys, missing uptime,
// saturated durations), strict on types and ranges. Pure: no I/O, never throws.

import { parseByFamily, parsePeerAddress, splitHostPort } from './address.js';
import { MEMBERS_MAX, shapeOf, VALUES_MAX } from './json-shape.js';
import { rfc3339Ms } from './rfc3339.js';
import {
  API_SERVER_VIAS,
  type ApiServerCheck,
  type ApiServerVia,
  type BlockedCheck,
  type ByFamily,
  DNS_RESULTS,
  type DnsQuery,
  type DnsReplicaQuery,
  type DnsResult,
  type FamilyPing,
  IP_FAMILIES,
  type IpFamily,
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

class Invalid extends Error {
  constructor(
    readonly code: DecodeErrorCode,
    readonly detail: string,
  ) {
    super(detail);
  }
}

const fail = (field: string, rule: string): never => {
  throw new Invalid('invalid_field', `${field} ${rule}`);
};

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

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
    hostDateMs: hostDate === null ? null : timestamp(hostDate, 'hostdate'),
    uptimeSeconds: m.get('uptime') == null ? null : int(m.get('uptime'), 'uptime', 0, Number.MAX_SAFE_INTEGER),
    nslookup: addressMap(m.get('nslookup'), 'nslookup'),
    ips: addressMap(m.get('ips'), 'ips'),
    probes: probes(m.get('network_probes')),
    network: (network ?? null) as Network | null,
    agentVersion: optString(m.get('agent_version'), 'agent_version', 64),
    agentStartedMs: optTimestamp(m.get('agent_started'), 'agent_started'),
    listen: peerAddress(m.get('listen')),
    listenByFamily: listenByFamily(m.get('listen_by_family')),
    exporterByFamily: exporterByFamily(m.get('exporter_by_family')),
    dns: list(m.get('dns'), 'dns', LIMITS.dnsQueriesMax, dnsQuery),
    peers: list(m.get('peers'), 'peers', LIMITS.peersMax, peerResult),
    icmpAvailable: optBool(m.get('icmp_available'), 'icmp_available'),
    pathMtu: pathMtu(m.get('path_mtu')),
    integrity: integrity(m.get('integrity')),
    apiServer: apiServer(m.get('api_server')),
    mustBeBlocked: mustBeBlocked(m.get('must_be_blocked')),
    dnsReplicas: dnsReplicas(m.get('dns_replicas')),
  };
}

// Our additions below. The original agent never sends them; each is null when absent.

/** Where peers reach the agent: IPv4:PORT or [IPv6]:PORT, never a host name (report/address.ts). */
function peerAddress(v: unknown): string | null {
  const s = optString(v, 'listen', LIMITS.nameMaxLength);
  if (s !== null && parsePeerAddress(s) === null)
    fail('listen', 'must be IPv4:PORT or [IPv6]:PORT (no host name) with a port from 1 to 65535');
  return s;
}

function listenByFamily(v: unknown): ByFamily | null {
  if (v == null) return null;
  return parseByFamily(v) ?? fail('listen_by_family', 'must map ipv4 and/or ipv6 to IP:PORT of that family');
}

function exporterByFamily(v: unknown): Partial<Record<IpFamily, FamilyPing>> | null {
  if (v == null) return null;
  if (!isObj(v)) return fail('exporter_by_family', 'must be an object');
  const out: Partial<Record<IpFamily, FamilyPing>> = {};
  for (const [family, ping] of Object.entries(v)) {
    const f = oneOf<IpFamily>(family, 'exporter_by_family', IP_FAMILIES);
    if (!isObj(ping)) return fail(`exporter_by_family.${f}`, 'must be an object');
    const m = lowerKeys(ping);
    out[f] = {
      result: resultWord(m.get('result'), `exporter_by_family.${f}.result`),
      latencyMs: duration(m.get('latency_ms'), `exporter_by_family.${f}.latency_ms`),
    };
  }
  return out;
}

function optTimestamp(v: unknown, field: string): number | null {
  const s = optString(v, field, 64);
  return s === null ? null : timestamp(s, field);
}

function timestamp(s: string, field: string): number {
  return rfc3339Ms(s) ?? fail(field, 'must be an RFC 3339 timestamp');
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
    ...optFamily(m.get('family'), `${at}.family`),
  };
}

/** Peer result classes are label values: short lowercase words only. */
const RESULT_WORD = /^[a-z_]{1,32}$/;

function resultWord(v: unknown, field: string): string {
  if (typeof v !== 'string' || !RESULT_WORD.test(v)) fail(field, 'must be a result class (lowercase letters and _)');
  return v as string;
}

function peerResult(m: Fields, at: string): PeerResult {
  const result = resultWord(m.get('result'), `${at}.result`);
  const sent = int(m.get('sent'), `${at}.sent`, 0, LIMITS.peerAttemptsMax);
  return {
    name: required(m.get('name'), `${at}.name`, LIMITS.nameMaxLength),
    node: optString(m.get('node'), `${at}.node`, LIMITS.nameMaxLength) ?? '',
    network: oneOf<Network>(m.get('network'), `${at}.network`, NETWORKS),
    result,
    sent,
    lost: int(m.get('lost'), `${at}.lost`, 0, sent),
    rttMs: duration(m.get('rtt_ms'), `${at}.rtt_ms`),
    ...optFamily(m.get('family'), `${at}.family`),
  };
}

/** The `family` of a per-family result: absent when not sent, as the agents that do not send it expect. */
function optFamily(v: unknown, field: string): { family?: IpFamily } {
  return v == null ? {} : { family: oneOf<IpFamily>(v, field, IP_FAMILIES) };
}

/** At most one check per via: each is a label value of the exporter's series. */
function apiServer(v: unknown): ApiServerCheck[] | null {
  const checks = list(v, 'api_server', API_SERVER_VIAS.length, (m, at) => ({
    via: oneOf<ApiServerVia>(m.get('via'), `${at}.via`, API_SERVER_VIAS),
    target: required(m.get('target'), `${at}.target`, LIMITS.nameMaxLength),
    tcpResult: resultWord(m.get('tcp_result'), `${at}.tcp_result`),
    tcpMs: duration(m.get('tcp_ms'), `${at}.tcp_ms`),
    result: resultWord(m.get('result'), `${at}.result`),
    httpCode: int(m.get('http_code'), `${at}.http_code`, 0, 999),
    latencyMs: duration(m.get('latency_ms'), `${at}.latency_ms`),
  }));
  if (checks && new Set(checks.map((c) => c.via)).size < checks.length) fail('api_server', 'must have at most one check per via');
  return checks;
}

/** Each target is a label value while it answers: a short HOST:PORT, once per report. */
function mustBeBlocked(v: unknown): BlockedCheck[] | null {
  const checks = list(v, 'must_be_blocked', LIMITS.blockedTargetsMax, (m, at) => ({
    target: required(m.get('target'), `${at}.target`, LIMITS.nameMaxLength + 8),
    result: resultWord(m.get('result'), `${at}.result`),
  }));
  if (checks?.some((c) => splitHostPort(c.target) === null)) fail('must_be_blocked', 'targets must be HOST:PORT');
  if (checks && new Set(checks.map((c) => c.target)).size < checks.length) fail('must_be_blocked', 'must name each target once');
  return checks;
}

/** Each replica is a label value of the exporter's series: IP:PORT, once per report. */
function dnsReplicas(v: unknown): DnsReplicaQuery[] | null {
  const queries = list(v, 'dns_replicas', LIMITS.dnsReplicasMax, (m, at) => ({
    address: required(m.get('address'), `${at}.address`, 64),
    result: resultWord(m.get('result'), `${at}.result`),
    latencyMs: duration(m.get('latency_ms'), `${at}.latency_ms`),
  }));
  if (queries?.some((q) => parsePeerAddress(q.address) === null)) fail('dns_replicas', 'addresses must be IPv4:PORT or [IPv6]:PORT');
  if (queries && new Set(queries.map((q) => q.address)).size < queries.length) fail('dns_replicas', 'must name each replica once');
  return queries;
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
  if (ratio != null && (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1)))
    fail('integrity.cpu_throttled_ratio', 'must be a number from 0 to 1');
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
// eslint-disable-next-line no-control-regex -- matching control characters is the point
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
    if (
      k.length > LIMITS.stringMaxLength ||
      CONTROL.test(k) ||
      !Array.isArray(list) ||
      list.length > LIMITS.addressesMax ||
      !allShortStrings(list)
    ) {
      fail(
        `${field}.${k.slice(0, 64).replace(CONTROL, '?')}`,
        `must be an array of at most ${LIMITS.addressesMax} strings without control characters`,
      );
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
