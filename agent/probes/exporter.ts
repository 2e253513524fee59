// The original agent's probes, as its report carries them: an HTTP GET of the exporter's
// /api/v1/ping (the agent->server path check, last in network_probes), one of each --probe-urls
// URL, and the lookup of the server's host name (nslookup). A dual-stack agent whose server name
// has an address of each family also pings the exporter over each family (exporter_by_family),
// as soon as the lookup answered: the report path checked per family. Never throws.

import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { IP_FAMILIES, type IpFamily, type WireFamilyPing } from '../../report/schema.js';
import { isDualStack } from '../addresses.js';
import { networkProbes } from '../report.js';
import { sleep } from '../sleep.js';
import { probeHttp } from './http.js';
import type { ProbeLimits, ProbeRow } from './probe.js';

/** `{host: [addresses]}`; [] when the lookup fails or outlasts the limits (getaddrinfo has no timeout). */
async function nslookupHost(hostname: string, { timeoutMs, signal }: ProbeLimits): Promise<Record<string, string[]>> {
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  const addresses = lookup(host, { all: true }).then(
    (as) => as.map((a) => a.address),
    () => [],
  );
  const stop = new AbortController();
  const expired = sleep(timeoutMs, signal ? AbortSignal.any([stop.signal, signal]) : stop.signal).then(() => []);
  const found = await Promise.race([addresses, expired]);
  stop.abort();
  return { [host]: found };
}

/** The families to ping the exporter over: both when the agent is dual-stack and the name has an address of each; else none. Pure. */
export function pingFamilies(dualStack: boolean, addresses: readonly string[]): IpFamily[] {
  const has = new Set(addresses.map((a) => isIP(a)));
  return dualStack && has.has(4) && has.has(6) ? [...IP_FAMILIES] : [];
}

/** The ping over each family, on fresh connections to the name's address of that family. */
async function pingByFamily(
  url: string,
  families: readonly IpFamily[],
  limits: ProbeLimits,
): Promise<Partial<Record<IpFamily, WireFamilyPing>>> {
  const out: Partial<Record<IpFamily, WireFamilyPing>> = {};
  const pings = await Promise.all(families.map((f) => probeHttp(url, { ...limits, family: f === 'ipv4' ? 4 : 6 })));
  pings.forEach((p, i) => {
    out[families[i] as IpFamily] = { result: p.result, latency_ms: p.httpCode > 0 ? p.phasesMs.total : null };
  });
  return out;
}

export const exporterProbe: ProbeRow = async ({ config }) => {
  const dualStack = isDualStack(config.probes.advertise);
  const host = new URL(config.serverUrl).hostname;
  return {
    async round(limits) {
      const [ping, [nslookup, byFamily], ...probes] = await Promise.all([
        probeHttp(config.pingUrl, limits),
        nslookupHost(host, limits).then(async (ns) => {
          const families = pingFamilies(dualStack, Object.values(ns)[0] ?? []);
          return [ns, families.length > 0 ? await pingByFamily(config.pingUrl, families, limits) : null] as const;
        }),
        ...config.probeUrls.map((url) => probeHttp(url, limits)),
      ]);
      return { nslookup, network_probes: networkProbes(probes, ping), ...(byFamily ? { exporter_by_family: byFamily } : {}) };
    },
  };
};
