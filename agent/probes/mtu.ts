// Path MTU: one don't-fragment echo per size (--mtu-sizes) to a host, all at once; the largest
// size that got its reply is the path MTU as far as we can tell. A link with a smaller MTU that
// drops big packets silently (a black hole) shows as a smaller number. Never throws. The row
// measures the exporter every round and the assigned peers a few per round in turn, while ICMP is
// allowed (icmp-availability.ts re-checks with backoff while it is not).

import { splitHostPort } from '../../report/address.js';
import type { Peer } from '../../report/answers.js';
import { IcmpAvailability } from './icmp-availability.js';
import { probeIcmp } from './icmp.js';
import type { ProbeLimits, ProbeRow } from './probe.js';

/** Peers whose path MTU is measured per round (each size of each is one ping process). */
const MTU_PEERS_PER_ROUND = 2;

export interface MtuProbeOptions extends ProbeLimits {
  /** Whole IP packet sizes in bytes. */
  readonly sizes: readonly number[];
}

/** Largest size that passed; null when none did (host unreachable, or no ICMP). */
export async function probePathMtu(host: string, { timeoutMs, sizes, signal }: MtuProbeOptions): Promise<number | null> {
  const passed = await Promise.all(
    sizes.map(async (size) =>
      (await probeIcmp(host, { timeoutMs, packetBytes: size, ...(signal ? { signal } : {}) })).result === 'ok' ? size : 0,
    ),
  );
  const best = Math.max(0, ...passed);
  return best > 0 ? best : null;
}

/** HOST of a HOST:PORT or [IPv6]:PORT address (the address itself when it has no port). */
export function hostOf(address: string): string {
  return splitHostPort(address)?.host ?? address;
}

/**
 * A peer's path MTU from its last two measurements: a drop counts once seen twice in a row, so one
 * lost echo of the largest size (a busy node, random loss) is not taken for a black hole. Pure.
 */
export function confirmedMtu(last: readonly [number | null, number | null] | undefined): number | null {
  const [prev, cur] = last ?? [null, null];
  return prev === null || cur === null ? (cur ?? prev) : Math.max(prev, cur);
}

export const pathMtuProbe: ProbeRow = async ({ config, log, assigned }) => {
  if (!config.probes.icmp) return null;
  const icmp = new IcmpAvailability({ timeoutMs: config.timeoutMs, intervalMs: config.intervalSeconds * 1000, log });
  await icmp.refresh();
  const sizes = config.probes.mtuSizes;
  const exporterHost = hostOf(new URL(config.serverUrl).host);
  /** Peer host -> its last two path MTUs (null: nothing passed), and whose turn is next. */
  const byHost = new Map<string, readonly [number | null, number | null]>();
  let turnAt = 0;
  return {
    // The exporter every round; peers a few per round in turn, the others from their last
    // measurement: the peers' value covers every peer within k / 2 rounds. While ICMP is
    // unavailable, a due re-check comes first (a loopback echo: milliseconds).
    async round(limits) {
      const peers: readonly Peer[] = assigned.peers;
      if (!(await icmp.refresh()) || sizes.length === 0) return { icmp_available: icmp.available };
      const opts = { ...limits, sizes };
      const hosts = [...new Set(peers.map((p) => hostOf(p.address)))];
      const turn =
        hosts.length <= MTU_PEERS_PER_ROUND
          ? hosts
          : Array.from({ length: MTU_PEERS_PER_ROUND }, (_, i) => hosts[(turnAt + i) % hosts.length] as string);
      turnAt = (turnAt + MTU_PEERS_PER_ROUND) % Math.max(1, hosts.length);
      const [exporter, ...measured] = await Promise.all([probePathMtu(exporterHost, opts), ...turn.map((h) => probePathMtu(h, opts))]);
      turn.forEach((h, i) => byHost.set(h, [byHost.get(h)?.[1] ?? null, measured[i] ?? null]));
      for (const h of byHost.keys()) if (!hosts.includes(h)) byHost.delete(h);
      const known = hosts.map((h) => confirmedMtu(byHost.get(h))).filter((m): m is number => m !== null);
      return {
        icmp_available: icmp.available,
        path_mtu: { exporter: exporter ?? null, peers: known.length > 0 ? Math.min(...known) : null },
      };
    },
  };
};
