// The original agent's probes, as its report carries them: an HTTP GET of the exporter's
// /api/v1/ping (the agent->server path check, last in network_probes), one of each --probe-urls
// URL, and the lookup of the server's host name (nslookup). Never throws.

import { lookup } from 'node:dns/promises';
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

export const exporterProbe: ProbeRow = async ({ config }) => ({
  async round(limits) {
    const [ping, nslookup, ...probes] = await Promise.all([
      probeHttp(config.pingUrl, limits),
      nslookupHost(new URL(config.serverUrl).hostname, limits),
      ...config.probeUrls.map((url) => probeHttp(url, limits)),
    ]);
    return { nslookup, network_probes: networkProbes(probes, ping) };
  },
});
