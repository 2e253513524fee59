// One round's I/O: every probe and the server name lookup in parallel, each bounded by the
// timeout, then the node facts; report.ts turns the result into the wire report.

import { lookup } from 'node:dns/promises';
import os from 'node:os';
import type { WireReport } from '../report/schema.js';
import type { AgentConfig } from './config.js';
import { probeHttp } from './probes/http.js';
import type { ExtraProbes } from './probes/round.js';
import { buildReport } from './report.js';
import { sleep } from './sleep.js';

/** Fixed once per process: every report of this process carries the same start. */
const STARTED_MS = Math.round(performance.timeOrigin);

export async function collectReport(config: AgentConfig, extraProbes?: ExtraProbes): Promise<WireReport> {
  const opts = { timeoutMs: config.timeoutMs };
  const [extras, ping, nslookup, ...probes] = await Promise.all([
    extraProbes?.collect(),
    probeHttp(config.pingUrl, opts),
    nslookupHost(new URL(config.serverUrl).hostname, config.timeoutMs),
    ...config.probeUrls.map((url) => probeHttp(url, opts)),
  ]);
  return buildReport({
    config,
    probes,
    ping,
    nslookup,
    interfaces: os.networkInterfaces(),
    nowMs: Date.now(),
    nodeUptimeSeconds: os.uptime(),
    startedMs: STARTED_MS,
    ...(extras ? { extras } : {}),
  });
}

/** `{host: [addresses]}`; [] when the lookup fails or outlasts the timeout (getaddrinfo has none). */
async function nslookupHost(hostname: string, timeoutMs: number): Promise<Record<string, string[]>> {
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  const addresses = lookup(host, { all: true }).then(
    (as) => as.map((a) => a.address),
    () => [],
  );
  const stop = new AbortController();
  const expired = sleep(timeoutMs, stop.signal).then(() => []);
  const found = await Promise.race([addresses, expired]);
  stop.abort();
  return { [host]: found };
}
