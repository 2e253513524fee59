// The agent's own addresses per IP family, for the probes that run per family (peers, the
// exporter): --advertise when given, else the machine's (or network namespace's) interfaces.

import { isIP } from 'node:net';
import os from 'node:os';

/** First non-internal address of a family; IPv6 link-local ones need a zone: left out. */
export function firstAddress(family: 'IPv4' | 'IPv6'): string | null {
  for (const infos of Object.values(os.networkInterfaces()))
    for (const i of infos ?? []) if (!i.internal && i.family === family && !/^fe[89ab]/i.test(i.address)) return i.address;
  return null;
}

/** Whether the agent has an address of each family: --advertise (one per family, checked at start) says so, else its interfaces. */
export function isDualStack(advertise: readonly string[] | null): boolean {
  return advertise ? advertise.length === 2 : firstAddress('IPv4') !== null && firstAddress('IPv6') !== null;
}

/** Whether the agent has an address of the family: --advertise when given, else its interfaces. */
export function hasFamily(family: 'ipv4' | 'ipv6', advertise: readonly string[] | null): boolean {
  const v = family === 'ipv4' ? 4 : 6;
  return advertise ? advertise.some((ip) => isIP(ip) === v) : firstAddress(v === 4 ? 'IPv4' : 'IPv6') !== null;
}
