// Builds the WireReport (report/schema.ts) from what one round collected. Pure: the clock, node
// uptime and interfaces come in as arguments. Compat keys are the original agent's, in its order.

import type { NetworkInterfaceInfo } from 'node:os';
import { VERSION } from '../lib/version.js';
import type { WireProbe, WireReport } from '../report/schema.js';
import type { AgentConfig } from './config.js';
import type { ProbeOutcome, RoundFields } from './probes/probe.js';

export interface ReportInput {
  config: Pick<AgentConfig, 'intervalSeconds' | 'nodeName' | 'name' | 'network' | 'zeroExtenderLength'>;
  /** What the round's probes measured (agent/probes/round.ts). */
  fields: RoundFields;
  /** As os.networkInterfaces() returns them. */
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** Wall clock, epoch ms. */
  nowMs: number;
  /** os.uptime(): the node's uptime, not the agent's. */
  nodeUptimeSeconds: number;
  /** Wall clock when this agent process started, epoch ms: tells a restart from a network fault. */
  startedMs: number;
}

export function buildReport(input: ReportInput): WireReport {
  const { config } = input;
  const { nslookup, network_probes, ...ours } = input.fields;
  return {
    report_interval: config.intervalSeconds,
    nodename: config.nodeName,
    podname: config.name,
    hostdate: new Date(input.nowMs).toISOString(),
    uptime: Math.floor(input.nodeUptimeSeconds),
    nslookup: nslookup ?? null,
    ips: interfaceAddresses(input.interfaces),
    network_probes: network_probes ?? null,
    zero_extender: new Array<number>(config.zeroExtenderLength).fill(0),
    network: config.network,
    agent_version: VERSION,
    agent_started: new Date(input.startedMs).toISOString(),
    ...ours,
  };
}

/** The original's network_probes: the --probe-urls probes in flag order, then the server ping, last. */
export function networkProbes(probes: readonly ProbeOutcome[], ping: ProbeOutcome): WireProbe[] {
  return [...probes, ping].map(wireProbe);
}

/** Interface name -> addresses in CIDR form, IPv4 and IPv6. */
export function interfaceAddresses(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, infos] of Object.entries(interfaces)) out[name] = (infos ?? []).map((i) => i.cidr ?? i.address);
  return out;
}

/**
 * The original's integer fields (go-httpstat names; Connect is cumulative DNS + TCP) are filled
 * only when a response arrived, as the original did, so legacy latency gauges never mix the
 * duration of a failure into latency. Precise phases of failures too are in PhasesMs.
 */
export function wireProbe(p: ProbeOutcome): WireProbe {
  const ph = p.phasesMs;
  const answered = p.httpCode > 0;
  const ms = (v: number | undefined): number => (answered && v !== undefined ? Math.max(0, Math.round(v)) : 0);
  return {
    URL: p.url,
    ConnectionResult: ph.connect === undefined ? 0 : 1,
    HTTPCode: p.httpCode,
    Total: ms(ph.total),
    ContentTransfer: ms(ph.transfer),
    TCPConnection: ms(ph.connect),
    DNSLookup: ms(ph.dns),
    Connect: ms((ph.dns ?? 0) + (ph.connect ?? 0)),
    ServerProcessing: ms(ph.first_byte),
    Result: p.result,
    PhasesMs: { ...ph },
  };
}
