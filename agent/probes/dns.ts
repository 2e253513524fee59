// DNS probe: one A query for a name to one resolver over UDP (dns-packet), retried over TCP when
// the answer is truncated. The rcode becomes a result class (classify.ts); the latency is from
// sending the query to the answer. Never throws. The row queries each resolver (resolv.conf's or
// --dns-server) for each --dns-names name every round. A dual-stack agent asks per IP family (A
// and AAAA, each result carrying its family; see dnsTargets). Also the pure resolv.conf reader.

import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { DecodedPacket, Packet } from 'dns-packet';
import { splitHostPort } from '../../report/address.js';
import { type DnsResult, IP_FAMILIES, LIMITS, type IpFamily, type ResultClass, type WireDns } from '../../report/schema.js';
import { isDualStack } from '../addresses.js';
import { classifyRcode } from './classify.js';
import type { Outcome, ProbeLimits, ProbeRow } from './probe.js';

// Required, not imported: importing a CommonJS package from ESM starts Node's WebAssembly export
// lexer, about 10 MB of resident memory in an agent that otherwise needs some 30 MB of its own.
const dnsPacket = createRequire(import.meta.url)('dns-packet') as typeof import('dns-packet');

export interface DnsTarget {
  /** Resolver address: an IP, or IP:PORT / [IPv6]:PORT (port 53 when absent). */
  readonly server: string;
  /** Fully qualified name to look up. */
  readonly name: string;
  /** The family asked: ipv4 an A query, ipv6 AAAA; absent: an A query, no family reported. */
  readonly family?: IpFamily;
}

export interface DnsOutcome extends Outcome {
  readonly server: string;
  readonly name: string;
  /** Null when no answer arrived. */
  readonly latencyMs: number | null;
  readonly family?: IpFamily;
}

/** The wire's older DNS words for the result classes a DNS query can have; the rest is `other`. */
const WIRE_DNS: Partial<Record<ResultClass, DnsResult>> = {
  ok: 'ok',
  dns_nxdomain: 'nxdomain',
  dns_servfail: 'servfail',
  dns_refused: 'refused',
  timeout: 'timeout',
};

export function wireDns(d: DnsOutcome): WireDns {
  const wire: WireDns = { server: d.server, name: d.name, result: WIRE_DNS[d.result] ?? 'other', latency_ms: d.latencyMs };
  if (d.family) wire.family = d.family;
  return wire;
}

const QUERY_TYPE = { ipv4: 'A', ipv6: 'AAAA' } as const;

/** A name without a dot gets the first search domain, as the resolver's search list would. Pure. */
export const fqdn = (name: string, search: readonly string[]): string => (name.includes('.') || !search[0] ? name : `${name}.${search[0]}`);

/** The family of a resolver's address; null when it is not an IP. Pure. */
const resolverFamily = (server: string): IpFamily | null => {
  const r = parseResolver(server);
  return r ? (net.isIPv6(r.host) ? 'ipv6' : 'ipv4') : null;
};

/**
 * Each resolver x each name; for a dual-stack agent x each family asked. With resolvers of both
 * families (a dual-stack DNS Service's ClusterIPs), each resolver is asked in its own family only
 * (A over IPv4, AAAA over IPv6), so that a path broken in one family fails that family alone;
 * with resolvers of one family (a pod's usual single nameserver), each is asked A and AAAA. Pure.
 */
export function dnsTargets(
  servers: readonly string[],
  names: readonly string[],
  search: readonly string[],
  dualStack = false,
): DnsTarget[] {
  const full = names.map((n) => fqdn(n, search));
  const transports = new Set(servers.map(resolverFamily));
  const bothTransports = IP_FAMILIES.every((f) => transports.has(f));
  return servers.flatMap((server) => {
    const own = resolverFamily(server);
    const families: ReadonlyArray<IpFamily | null> = !dualStack ? [null] : bothTransports && own ? [own] : IP_FAMILIES;
    return full.flatMap((name) => families.map((family) => (family ? { server, name, family } : { server, name })));
  });
}

export const dnsProbe: ProbeRow = async ({ config, log }) => {
  const p = config.probes.dns;
  if (!p) return null;
  const conf = parseResolvConf(await readFile('/etc/resolv.conf', 'utf8').catch(() => ''));
  const all = dnsTargets(p.servers ?? conf.nameservers, p.names, conf.search, isDualStack(config.probes.advertise));
  if (all.length === 0) {
    log.warn('dns probes have no resolver', { hint: 'give --dns-server' });
    return null;
  }
  // The exporter refuses a report with more queries: the first ones are kept, and said so once.
  const targets = all.slice(0, LIMITS.dnsQueriesMax);
  if (all.length > targets.length)
    log.warn('too many dns queries per round: the first ones only', { queries: all.length, kept: targets.length });
  return { round: async (limits) => ({ dns: (await Promise.all(targets.map((t) => probeDns(t, limits)))).map(wireDns) }) };
};

/** IP, IP:PORT or [IPv6]:PORT -> host and port; null when it is not an IP address. */
export function parseResolver(server: string): { host: string; port: number } | null {
  const { host, port } = splitHostPort(server) ?? { host: server, port: 53 };
  return net.isIP(host) !== 0 && port >= 1 ? { host, port } : null;
}

/** nameserver and search lines of a resolv.conf text. Pure. */
export function parseResolvConf(text: string): { nameservers: string[]; search: string[] } {
  const nameservers: string[] = [];
  let search: string[] = [];
  for (const line of text.split('\n')) {
    const [key, ...values] = line
      .replace(/[#;].*$/, '')
      .trim()
      .split(/\s+/);
    if (key === 'nameserver' && values[0] && parseResolver(values[0])) nameservers.push(values[0]);
    else if ((key === 'search' || key === 'domain') && values.length > 0) search = values;
  }
  return { nameservers, search };
}

export function probeDns(target: DnsTarget, { timeoutMs, signal }: ProbeLimits): Promise<DnsOutcome> {
  const resolver = parseResolver(target.server);
  const base = { server: target.server, name: target.name, ...(target.family ? { family: target.family } : {}) };
  if (!resolver) return Promise.resolve({ ...base, result: 'error', latencyMs: null, error: 'resolver is not an IP address' });
  const start = performance.now();
  const timeout = AbortSignal.timeout(Math.ceil(timeoutMs));
  const stop = signal ? AbortSignal.any([timeout, signal]) : timeout;
  const id = Math.floor(Math.random() * 0x10000);
  const query = {
    type: 'query' as const,
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: QUERY_TYPE[target.family ?? 'ipv4'], name: target.name }],
  };
  const answered = (flags: number | undefined): DnsOutcome => ({
    ...base,
    result: classifyRcode((flags ?? 0) & 0xf),
    latencyMs: performance.now() - start,
  });
  const failed = (err: unknown): DnsOutcome =>
    stop.aborted
      ? {
          ...base,
          result: 'timeout',
          latencyMs: null,
          error: timeout.aborted ? `no answer within ${timeoutMs} ms` : "no answer before the round's deadline",
        }
      : { ...base, result: 'error', latencyMs: null, error: err instanceof Error ? err.message : String(err) };
  return queryUdp(resolver, query, id, stop).then(
    (p) => (p.flag_tc ? queryTcp(resolver, query, id, stop).then((t) => answered(t.flags), failed) : answered(p.flags)),
    failed,
  );
}

type Query = Packet;

/** One UDP exchange; an unconnected socket, so ICMP errors read as silence (a timeout), as for resolvers. */
function queryUdp(r: { host: string; port: number }, query: Query, id: number, stop: AbortSignal): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(r.host) ? 'udp6' : 'udp4');
    const done = (fn: () => void): void => {
      stop.removeEventListener('abort', onAbort);
      socket.close();
      fn();
    };
    const onAbort = (): void => done(() => reject(new Error('aborted')));
    stop.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (e) => done(() => reject(e)));
    socket.on('message', (msg) => {
      let p: DecodedPacket;
      try {
        p = dnsPacket.decode(msg);
      } catch {
        return; // not a DNS answer: keep waiting
      }
      if (p.id === id && p.type === 'response') done(() => resolve(p));
    });
    socket.send(dnsPacket.encode(query), r.port, r.host, (e) => e && done(() => reject(e)));
  });
}

/** One TCP exchange with the two-byte length prefix (RFC 1035 4.2.2). */
function queryTcp(r: { host: string; port: number }, query: Query, id: number, stop: AbortSignal): Promise<Packet> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: r.host, port: r.port, signal: stop });
    let buf = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('connect', () => socket.write(dnsPacket.streamEncode(query)));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      socket.destroy();
      try {
        const p = dnsPacket.streamDecode(buf);
        if (p.id === id) resolve(p);
        else reject(new Error('answer for another query'));
      } catch (e) {
        reject(e);
      }
    });
    socket.on('end', () => reject(new Error('connection closed before the answer')));
  });
}
