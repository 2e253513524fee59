// Path MTU: one don't-fragment echo per size (--mtu-sizes) to a host, all at once; the largest
// size that got its reply is the path MTU as far as we can tell. A link with a smaller MTU that
// drops big packets silently (a black hole) shows as a smaller number. Never throws.

import { splitHostPort } from '../../report/address.js';
import { probeIcmp } from './icmp.js';

export interface MtuProbeOptions {
  readonly timeoutMs: number;
  /** Whole IP packet sizes in bytes. */
  readonly sizes: readonly number[];
  readonly signal?: AbortSignal;
}

/** Largest size that passed; null when none did (host unreachable, or no ICMP). */
export async function probePathMtu(host: string, { timeoutMs, sizes, signal }: MtuProbeOptions): Promise<number | null> {
  const passed = await Promise.all(
    sizes.map(async (size) => ((await probeIcmp(host, { timeoutMs, packetBytes: size, ...(signal ? { signal } : {}) })).result === 'ok' ? size : 0)),
  );
  const best = Math.max(0, ...passed);
  return best > 0 ? best : null;
}

/** HOST of a HOST:PORT or [IPv6]:PORT address (the address itself when it has no port). */
export function hostOf(address: string): string {
  return splitHostPort(address)?.host ?? address;
}
