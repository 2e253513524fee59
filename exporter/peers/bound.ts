// Pure: whether the exporter can vouch for a peer address, i.e. whether it is bound to the agent
// that reported it. Agents probe what the exporter hands out, so an address a sender merely names
// (another host, a port to scan) must never be handed out. The evidence is the agent pod's IPs
// under Kubernetes discovery, otherwise the source address of the report's connection; an operator
// can widen it with --peer-cidrs (NAT, proxies, an agent advertising a second interface).

import { type Cidr, cidrContains, parseIp, parsePeerAddress, sameIp } from '../../report/address.js';

/** `address` (IP:PORT) names one of `owned` (IPs, as Kubernetes or the socket spell them) or lies in one of `cidrs`. */
export function isBoundAddress(address: string, owned: readonly string[], cidrs: readonly Cidr[]): boolean {
  const peer = parsePeerAddress(address);
  if (!peer) return false;
  for (const o of owned) {
    const ip = parseIp(o);
    if (ip && sameIp(ip, peer.ip)) return true;
  }
  return cidrs.some((c) => cidrContains(c, peer.ip));
}
