// The etcd store's size limits, all derived from one number: the largest request the etcd server
// takes (its --max-request-bytes, told to us by --etcd-max-request-bytes). A record must fit in a
// write request, so the report body limit follows from it; a load reads the prefix in pages that
// fit the client's receive limit, so no prefix size stops a start or a reload. Pure: no I/O.

/** etcd's own default --max-request-bytes (1.5 MiB). */
export const ETCD_DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

/**
 * What a write request carries besides the record: the key twice (a write-back is a transaction
 * that compares and puts it; prefix <= 256 + "/agents/" + name <= 253 bytes: <= 1034 bytes), the
 * lease id, the compare and the raft header (< 100 bytes). 2 KiB covers them with room.
 */
export const RECORD_OVERHEAD_BYTES = 2048;

/** The largest record (encoded value) a write to etcd can carry. */
export function maxRecordBytes(maxRequestBytes: number): number {
  return maxRequestBytes - RECORD_OVERHEAD_BYTES;
}

/** Largest page of a load, keys: 500 of our agent's records (2.15 KB each) are about 1.1 MB. */
const PAGE_KEYS_MAX = 500;

/** Bytes a page's response may take besides its values: up to 500 keys of <= 517 bytes, framing. */
const PAGE_SLACK_BYTES = 1024 * 1024;

/**
 * Largest gRPC message the client takes (gRPC's default is 4 MiB, about 1,900 of our agent's
 * records in one unpaged read): 64 MiB, or one value and its page's slack when etcd takes more.
 */
export function receiveLimitBytes(maxRequestBytes: number): number {
  return Math.max(64 * 1024 * 1024, maxRequestBytes + PAGE_SLACK_BYTES);
}

/**
 * Keys per page of a load, so a page of the largest values etcd holds (none exceeds its request
 * limit) still fits the receive limit: 42 with etcd's defaults, 500 at most.
 */
export function pageKeys(maxRequestBytes: number): number {
  const fit = Math.floor((receiveLimitBytes(maxRequestBytes) - PAGE_SLACK_BYTES) / maxRequestBytes);
  return Math.max(1, Math.min(PAGE_KEYS_MAX, fit));
}

/**
 * Largest gRPC message the client sends: what the etcd server accepts on the wire (its request
 * limit plus the 512 KiB it allows for gRPC framing), so a larger one fails here, not in etcd.
 */
export function sendLimitBytes(maxRequestBytes: number): number {
  return maxRequestBytes + 512 * 1024;
}

/** True for etcd's (or gRPC's) refusal of a message for its size: resending it will not help. */
export function isSizeRefusal(e: unknown): boolean {
  const message = e instanceof Error ? e.message : String(e);
  return /request is too large|message larger than max/i.test(message);
}
