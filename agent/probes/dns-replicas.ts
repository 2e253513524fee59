// DNS per replica: one query per round straight to each cluster DNS replica (each endpoint of
// the DNS Service, handed out by the exporter with the peers), besides the lookups through the
// Service address (dns.ts). A Service spreads queries over its replicas, so one broken replica
// fails only one lookup in N there; queried directly it fails every time, and the exporter can
// name it. The query is dns.ts's, for the first --dns-names name; on while DNS probes are.
// The list comes with the peers answer: the peer row fetches it with --listen; without a
// listener this row fetches it itself, so every agent that probes DNS gets it. Never throws.

import { readFile } from 'node:fs/promises';
import { familyOf, parsePeerAddress } from '../../report/address.js';
import type { IpFamily, WireDnsReplica } from '../../report/schema.js';
import { hasFamily } from '../addresses.js';
import { fqdn, parseResolvConf, probeDns } from './dns.js';
import { fetchPeers } from './peer.js';
import type { ProbeLimits, ProbeRow } from './probe.js';

/** One query of `name` to each replica (IP:PORT). */
export async function probeDnsReplicas(replicas: readonly string[], name: string, limits: ProbeLimits): Promise<WireDnsReplica[]> {
  const outcomes = await Promise.all(replicas.map((server) => probeDns({ server, name }, limits)));
  return outcomes.map((o) => ({ address: o.server, result: o.result, latency_ms: o.latencyMs }));
}

/**
 * The replicas this agent can reach: those of a family it has an address in (a loopback one
 * always). A single-stack agent in a cluster with DNS endpoints of both families would otherwise
 * report the other family's replicas failing and page for a replica that works.
 */
export function replicasInReach(replicas: readonly string[], has: (family: IpFamily) => boolean): string[] {
  return replicas.filter((r) => {
    const a = parsePeerAddress(r);
    if (!a) return false;
    const loopback = a.ip.length === 4 ? a.ip[0] === 127 : a.ip.every((b, i) => b === (i === 15 ? 1 : 0));
    return loopback || has(familyOf(a.ip));
  });
}

export const dnsReplicasProbe: ProbeRow = async ({ config, assigned }) => {
  const p = config.probes.dns;
  const first = p?.names[0];
  if (first === undefined) return null;
  const name = fqdn(first, parseResolvConf(await readFile('/etc/resolv.conf', 'utf8').catch(() => '')).search);
  const fetchesList = config.probes.listen === null; // else the peer row does, with the peers
  return {
    // The replicas handed out last round; the next round's list fetched meanwhile. No list from
    // the exporter yet (or it knows no replicas): no field, so no series.
    round: async (limits) => {
      const replicas = replicasInReach(assigned.dnsReplicas, (f) => hasFamily(f, config.probes.advertise));
      const [queried, fresh] = await Promise.all([
        replicas.length === 0 ? null : probeDnsReplicas(replicas, name, limits),
        fetchesList ? fetchPeers(config.serverUrl, config.name, limits) : null,
      ]);
      if (fresh) assigned.dnsReplicas = fresh.dnsReplicas;
      return queried === null ? {} : { dns_replicas: queried };
    },
  };
};
