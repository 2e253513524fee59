// A record as the etcd value: the JSON the API answers for the agent (the original's record shape,
// `last_updated` being the exporter's wall-clock receipt time) plus our agent's additions in their
// wire form. That is a valid report body, so reading it back goes through the one report decoder:
// whatever is found in etcd is validated exactly as a report from the network is, and a record
// read back is the record written (test/etcd-cache.test.ts checks the round trip). The report's
// source IP rides along as `source_address` (an unknown key to the decoder; absent in records of
// older exporters, which read as unknown). Pure: no I/O.

import { parseIp } from '../../report/address.js';
import { decodeReport } from '../../report/decode.js';
import { recordJson, wireAdditions } from '../../report/encode.js';
import { rfc3339Ms } from '../../report/rfc3339.js';
import type { Report } from '../../report/schema.js';
import type { AgentRecord } from './store.js';

export interface StoredRecord {
  readonly report: Report;
  readonly receivedWallMs: number;
  /** The report's source IP; null in records of exporters before it was kept. */
  readonly source: string | null;
}

export type DecodedRecord = { ok: true; value: StoredRecord } | { ok: false; error: string };

export function encodeRecord(record: AgentRecord): string {
  return JSON.stringify({
    ...recordJson(record.report, record.receivedWallMs),
    ...wireAdditions(record.report),
    ...(record.source ? { source_address: record.source } : {}),
  });
}

/** etcd bounds a value's size (its request limit), so every record the store wrote reads back. */
export function decodeRecord(value: Buffer): DecodedRecord {
  const text = value.toString('utf8');
  const report = decodeReport(text);
  if (!report.ok) return { ok: false, error: `${report.code}: ${report.detail}` };
  // decodeReport parsed the text already, so this parse cannot throw.
  const { last_updated: lastUpdated, source_address: source } = JSON.parse(text) as { last_updated?: unknown; source_address?: unknown };
  if (typeof lastUpdated !== 'string') return { ok: false, error: 'last_updated is missing' };
  const receivedWallMs = rfc3339Ms(lastUpdated);
  if (receivedWallMs === null) return { ok: false, error: 'last_updated is not an RFC 3339 timestamp' };
  // Only an IP is ever written; anything else reads as unknown (the agent is not handed out as a peer).
  return {
    ok: true,
    value: { report: report.value, receivedWallMs, source: typeof source === 'string' && parseIp(source) ? source : null },
  };
}

/**
 * The monotonic receipt time on this replica of a record received elsewhere (another replica, or
 * this one before a restart): now minus its wall-clock age, the age never negative. Freshness
 * stays on the monotonic clock; the one assumption is that replicas' wall clocks agree (NTP), and
 * a skew shows as that much age error, never as a report from the future.
 */
export function monoFromWall(receivedWallMs: number, nowMonoMs: number, nowWallMs: number): number {
  return nowMonoMs - Math.max(0, nowWallMs - receivedWallMs);
}
