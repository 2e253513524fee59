// The probes beyond the original's, per round: DNS (each resolver x each name), the assigned
// peers, path MTU to the exporter and peers, and the agent's own integrity. Holds what lasts
// across rounds: the listener peers probe (which also serves the loop's health), the peer list
// (fetched each round for the next one), whether ICMP is allowed (re-checked with backoff while
// not), the integrity monitor.

import { readFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import os from 'node:os';
import type { Logger } from '../../lib/log.js';
import type { WireReport } from '../../report/schema.js';
import type { AgentConfig } from '../config.js';
import { IntegrityMonitor } from '../integrity.js';
import { type HealthSource, type Listener, startListener } from '../listener.js';
import { type DnsTarget, parseResolvConf, probeDns } from './dns.js';
import { IcmpAvailability } from './icmp-availability.js';
import { hostOf, probePathMtu } from './mtu.js';
import type { Peer } from '../../report/answers.js';
import { fetchPeers, type PeerOutcome, probePeer } from './peer.js';

/** Peers whose path MTU is measured per round (each size of each is one ping process). */
const MTU_PEERS_PER_ROUND = 2;

export type ReportExtras = Partial<Pick<WireReport, 'listen' | 'dns' | 'peers' | 'icmp_available' | 'path_mtu' | 'integrity'>>;

/** Names without a dot get the first search domain, as the resolver's search list would. Pure. */
export function dnsTargets(servers: readonly string[], names: readonly string[], search: readonly string[]): DnsTarget[] {
  const fqdn = names.map((n) => (n.includes('.') || !search[0] ? n : `${n}.${search[0]}`));
  return servers.flatMap((server) => fqdn.map((name) => ({ server, name })));
}

/**
 * A peer's path MTU from its last two measurements: a drop counts once seen twice in a row, so one
 * lost echo of the largest size (a busy node, random loss) is not taken for a black hole. Pure.
 */
export function confirmedMtu(last: readonly [number | null, number | null] | undefined): number | null {
  const [prev, cur] = last ?? [null, null];
  return prev === null || cur === null ? (cur ?? prev) : Math.max(prev, cur);
}

/**
 * The round's peer results without those of peers the fresh list no longer assigns (or assigns at
 * another address): a withdrawn peer is gone from the mesh, not unreachable. No fresh list (the
 * exporter not answering): every result stays. Pure.
 */
export function assignedOnly(probed: readonly PeerOutcome[], probedPeers: readonly Peer[], fresh: readonly Peer[] | null): PeerOutcome[] {
  if (fresh === null) return [...probed];
  const assigned = new Set(fresh.map((p) => `${p.name}@${p.address}`));
  return probed.filter((_, i) => assigned.has(`${probedPeers[i]?.name}@${probedPeers[i]?.address}`));
}

/** First non-internal IPv4 address of the machine (or network namespace). */
function firstAddress(): string | null {
  for (const infos of Object.values(os.networkInterfaces())) for (const i of infos ?? []) if (!i.internal && i.family === 'IPv4') return i.address;
  return null;
}

export class ExtraProbes {
  readonly #config: AgentConfig;
  readonly #integrity: IntegrityMonitor;
  readonly #listener: Listener | null;
  readonly #listen: string | null;
  readonly #dns: readonly DnsTarget[];
  readonly #icmp: IcmpAvailability | null;
  #peers: readonly Peer[] = [];
  /** Peer host -> its last two path MTUs (null: nothing passed), and whose turn is next. */
  readonly #mtuByHost = new Map<string, readonly [number | null, number | null]>();
  #mtuTurn = 0;

  private constructor(config: AgentConfig, parts: { integrity: IntegrityMonitor; listener: Listener | null; listen: string | null; dns: DnsTarget[]; icmp: IcmpAvailability | null }) {
    this.#config = config;
    this.#integrity = parts.integrity;
    this.#listener = parts.listener;
    this.#listen = parts.listen;
    this.#dns = parts.dns;
    this.#icmp = parts.icmp;
  }

  /** Throws when the listener cannot listen (a startup error, like a bad flag). */
  static async start(config: AgentConfig, log: Logger, health?: HealthSource): Promise<ExtraProbes> {
    const p = config.probes;
    const integrity = await IntegrityMonitor.start();
    let listener: Listener | null = null;
    let listen: string | null = null;
    if (p.listen) {
      listener = await startListener(p.listen.host, p.listen.port, health).catch((e: unknown) => {
        integrity.stop();
        throw e;
      });
      const unspecified = p.listen.host === '0.0.0.0' || p.listen.host === '::';
      const host = p.advertise ?? (unspecified ? firstAddress() : p.listen.host) ?? '127.0.0.1';
      listen = `${isIPv6(host) ? `[${host}]` : host}:${listener.port}`;
    }
    let dns: DnsTarget[] = [];
    if (p.dns) {
      const conf = parseResolvConf(await readFile('/etc/resolv.conf', 'utf8').catch(() => ''));
      dns = dnsTargets(p.dns.servers ?? conf.nameservers, p.dns.names, conf.search);
      if (dns.length === 0) log.warn('dns probes have no resolver', { hint: 'give --dns-server' });
    }
    const icmp = p.icmp ? new IcmpAvailability({ timeoutMs: config.timeoutMs, intervalMs: config.intervalSeconds * 1000, log }) : null;
    await icmp?.refresh();
    log.debug('probes ready', { listen, dns_queries: dns.length, icmp: icmp?.available ?? null, mtu_sizes: icmp?.available ? p.mtuSizes : [] });
    return new ExtraProbes(config, { integrity, listener, listen, dns, icmp });
  }

  /** One round: every probe at once, each bounded by the timeout; then the round's integrity. */
  async collect(): Promise<ReportExtras> {
    const c = this.#config;
    const opts = { timeoutMs: c.timeoutMs };
    const peers = this.#peers;
    const [dns, probed, mtu, fresh] = await Promise.all([
      Promise.all(this.#dns.map((t) => probeDns(t, opts))),
      this.#listen ? Promise.all(peers.map((p) => probePeer(p, { ...opts, attempts: c.probes.peerAttempts }))) : null,
      this.#pathMtu(peers),
      this.#listen ? fetchPeers(c.serverUrl, c.name, c.timeoutMs) : null,
    ]);
    if (fresh) this.#peers = fresh;
    const reached = probed && assignedOnly(probed, peers, fresh);
    const out: ReportExtras = { integrity: await this.#integrity.take() };
    if (this.#listen) out.listen = this.#listen;
    if (this.#dns.length > 0) out.dns = dns.map((d) => ({ server: d.server, name: d.name, result: d.result, latency_ms: d.latencyMs }));
    if (reached) out.peers = reached.map((p) => ({ name: p.name, node: p.node, network: p.network, result: p.result, sent: p.sent, lost: p.lost, rtt_ms: p.rttMs }));
    if (this.#icmp !== null) out.icmp_available = this.#icmp.available;
    if (mtu) out.path_mtu = mtu;
    return out;
  }

  /**
   * The exporter every round; peers a few per round in turn (each size is one ping process), the
   * others from their last measurement: the peers' value covers every peer within k / 2 rounds.
   * While ICMP is unavailable, a due re-check comes first (a loopback echo: milliseconds).
   */
  async #pathMtu(peers: readonly Peer[]): Promise<{ exporter: number | null; peers: number | null } | null> {
    const sizes = this.#config.probes.mtuSizes;
    if (!(await this.#icmp?.refresh()) || sizes.length === 0) return null;
    const opts = { timeoutMs: this.#config.timeoutMs, sizes };
    const hosts = [...new Set(peers.map((p) => hostOf(p.address)))];
    const turn = hosts.length <= MTU_PEERS_PER_ROUND ? hosts : Array.from({ length: MTU_PEERS_PER_ROUND }, (_, i) => hosts[(this.#mtuTurn + i) % hosts.length] as string);
    this.#mtuTurn = (this.#mtuTurn + MTU_PEERS_PER_ROUND) % Math.max(1, hosts.length);
    const [exporter, ...measured] = await Promise.all([probePathMtu(hostOf(new URL(this.#config.serverUrl).host), opts), ...turn.map((h) => probePathMtu(h, opts))]);
    turn.forEach((h, i) => this.#mtuByHost.set(h, [this.#mtuByHost.get(h)?.[1] ?? null, measured[i] ?? null]));
    for (const h of this.#mtuByHost.keys()) if (!hosts.includes(h)) this.#mtuByHost.delete(h);
    const known = hosts.map((h) => confirmedMtu(this.#mtuByHost.get(h))).filter((m): m is number => m !== null);
    return { exporter: exporter ?? null, peers: known.length > 0 ? Math.min(...known) : null };
  }

  async stop(): Promise<void> {
    this.#integrity.stop();
    await this.#listener?.close();
  }
}
