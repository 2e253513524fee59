// When a store cannot take a report. A report is answered 200 only once the store has it, or has
// queued it for write-back by design (etcd outage buffer); a store that refuses it (buffer full or
// off) or does not answer within STORE_DEADLINE_MS gets 503 `store_unavailable`, so an agent is
// never left hanging on a frozen backend and never told "stored" when nothing holds the report.
// A put cut off by the deadline may still land later: a 503 means "not acknowledged", not "lost",
// and the stores never let such a late write replace a report received after it.

/** The store has neither stored nor queued the record; the client should send it again. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

/**
 * Longest a report waits for the store before the answer is 503: below the 2 s an agent is
 * promised an answer in, with room for reading the body and writing the response.
 */
export const STORE_DEADLINE_MS = 1500;

/**
 * Longest a store waits for its backend on a put before it queues the record for write-back (or
 * refuses it): under STORE_DEADLINE_MS, so a slow or frozen backend yields a buffered 200 or a
 * 503 of the store's own, not the generic deadline.
 */
export const BACKEND_WAIT_MS = 1250;

/** Settles as call does, or rejects with late() after ms; the call's own later failure is handled. */
export function withDeadline<T>(call: Promise<T>, ms: number, late: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(late()), ms);
    call.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** A store call bounded by STORE_DEADLINE_MS. */
export function storeDeadline<T>(call: Promise<T>): Promise<T> {
  return withDeadline(call, STORE_DEADLINE_MS, () => new StoreUnavailableError(`the store did not answer within ${STORE_DEADLINE_MS} ms`));
}
