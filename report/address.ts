// Peer addresses as the contract allows them: IPv4:PORT or [IPv6]:PORT, never a host name (a name
// would let a report point agents anywhere DNS says). Both sides use it: the exporter's decoder
// and peer hand-out, the agent before it probes. Pure: IPs are parsed to bytes by hand, so that
// 127.0.0.1, ::ffff:127.0.0.1 and a CIDR compare as numbers, not as spellings.

import type { IpFamily, Report } from './schema.js';

/** An IP as bytes: 4 for IPv4 (IPv4-mapped IPv6 included), 16 for IPv6. */
export type IpBytes = readonly number[];

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function ipv4(s: string): number[] | null {
  const m = IPV4.exec(s);
  if (!m) return null;
  const bytes = m.slice(1).map(Number);
  // A leading zero reads as octal in some resolvers: refused rather than guessed.
  return bytes.every((b, i) => b <= 255 && (b === 0 || !(m[i + 1] as string).startsWith('0'))) ? bytes : null;
}

function ipv6(s: string): number[] | null {
  if (s.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(s)) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === '') return [];
    const out: number[] = [];
    const parts = h.split(':');
    for (const [i, p] of parts.entries()) {
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = ipv4(p);
        if (!v4) return null;
        out.push((v4[0] as number) * 256 + (v4[1] as number), (v4[2] as number) * 256 + (v4[3] as number));
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(p)) out.push(parseInt(p, 16));
      else return null;
    }
    return out;
  };
  const head = groups(halves[0] as string);
  const tail = halves.length === 2 ? groups(halves[1] as string) : [];
  if (!head || !tail) return null;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
  const words = [...head, ...Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  return words.flatMap((w) => [w >> 8, w & 255]);
}

const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255];

const unmapped = (v6: number[] | null): number[] | null => (v6 && MAPPED_PREFIX.every((b, i) => v6[i] === b) ? v6.slice(12) : v6);

/** The IP's bytes, or null when `s` is not an IP; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) reads as IPv4. */
export function parseIp(s: string): IpBytes | null {
  return ipv4(s) ?? unmapped(ipv6(s));
}

/** The family of an IP's bytes (IPv4-mapped IPv6 reads as IPv4, as parseIp gives it). */
export const familyOf = (ip: IpBytes): 'ipv4' | 'ipv6' => (ip.length === 4 ? 'ipv4' : 'ipv6');

/**
 * The family of a dual-stack agent's primary address (its `listen`): a report with a listener
 * address of each family; null for a single-stack agent.
 */
export function dualStackPrimary(r: Pick<Report, 'listen' | 'listenByFamily'>): IpFamily | null {
  const byFamily = r.listenByFamily;
  if (!byFamily?.ipv4 || !byFamily.ipv6 || !r.listen) return null;
  const address = parsePeerAddress(r.listen);
  return address ? familyOf(address.ip) : null;
}

export const sameIp = (a: IpBytes, b: IpBytes): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export interface PeerAddress {
  readonly ip: IpBytes;
  readonly port: number;
}

/**
 * The one HOST:PORT reader: `HOST:PORT` or `[IPv6]:PORT`, a port of 0 to 65535; the host as
 * written (brackets off, maybe empty), `bracketed` when it was. Null when there is no port.
 */
export function splitHostPort(s: string): { host: string; port: number; bracketed: boolean } | null {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s);
  if (!m) return null;
  const port = Number(m[3]);
  return port <= 65535 ? { host: m[1] ?? (m[2] as string), port, bracketed: m[1] !== undefined } : null;
}

/** The one HOST:PORT writer, splitHostPort's inverse: an IPv6 address in brackets. */
export const joinHostPort = (host: string, port: number): string => `${host.includes(':') ? `[${host}]` : host}:${port}`;

/** A listen address: HOST:PORT or [IPv6]:PORT, an empty host meaning all (0.0.0.0); port 0 picks a free one. */
export function parseListenAddress(s: string): { host: string; port: number } | null {
  const hp = splitHostPort(s);
  return hp ? { host: hp.host || '0.0.0.0', port: hp.port } : null;
}

/** IPv4:PORT or [IPv6]:PORT with a port from 1 to 65535; null for anything else (host names included). */
export function parsePeerAddress(s: string): PeerAddress | null {
  const hp = splitHostPort(s);
  if (!hp || hp.port < 1) return null;
  const ip = hp.bracketed ? unmapped(ipv6(hp.host)) : /^[0-9.]+$/.test(hp.host) ? ipv4(hp.host) : null;
  return ip ? { ip, port: hp.port } : null;
}

/**
 * A listener's address per family, `{ "ipv4": "IP:PORT", "ipv6": "[IP]:PORT" }`: each a peer
 * address of its own family, at least one, nothing else. Null for anything else.
 */
export function parseByFamily(v: unknown): Partial<Record<'ipv4' | 'ipv6', string>> | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length === 0 || entries.length > 2) return null;
  const out: Partial<Record<'ipv4' | 'ipv6', string>> = {};
  for (const [family, address] of entries) {
    const peer = typeof address === 'string' ? parsePeerAddress(address) : null;
    if ((family !== 'ipv4' && family !== 'ipv6') || !peer || familyOf(peer.ip) !== family) return null;
    out[family] = address as string;
  }
  return out;
}

export interface Cidr {
  readonly ip: IpBytes;
  readonly bits: number;
}

/** `IP/BITS` (IPv4 or IPv6); null when malformed or the prefix is longer than the address. */
export function parseCidr(s: string): Cidr | null {
  const slash = s.indexOf('/');
  if (slash < 0 || !/^\d{1,3}$/.test(s.slice(slash + 1))) return null;
  const ip = s.includes(':') ? ipv6(s.slice(0, slash)) : ipv4(s.slice(0, slash));
  const bits = Number(s.slice(slash + 1));
  return ip && bits <= ip.length * 8 ? { ip, bits } : null;
}

export function cidrContains({ ip: net, bits }: Cidr, ip: IpBytes): boolean {
  if (net.length !== ip.length) return false;
  for (let i = 0; i * 8 < bits; i++) {
    const mask = bits - i * 8 >= 8 ? 255 : (0xff00 >> (bits - i * 8)) & 255;
    if (((net[i] as number) & mask) !== ((ip[i] as number) & mask)) return false;
  }
  return true;
}
