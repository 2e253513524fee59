// Large responses (/metrics, /api/v1/agents/) are the ones a client can make the exporter hold:
// at most `max` are written at once (503 with Retry-After beyond it), and each must be taken by
// its reader within the write timeout, or the connection is dropped: a reader that does not read
// holds its socket buffers and its share of a body for at most that long.

import type { ServerResponse } from 'node:http';
import { sendError } from './errors.js';

export interface LargeResponseLimits {
  readonly max: number;
  readonly writeTimeoutMs: number;
}

export class LargeResponses {
  readonly #limits: LargeResponseLimits;
  #inFlight = 0;

  constructor(limits: LargeResponseLimits) {
    this.#limits = limits;
  }

  /** Starts a large response, timed from now; false (and a 503 sent) when too many are in flight. */
  begin(res: ServerResponse): boolean {
    if (this.#inFlight >= this.#limits.max) {
      this.refuse(res);
      return false;
    }
    this.#inFlight++;
    const timer = setTimeout(() => res.destroy(), this.#limits.writeTimeoutMs);
    res.once('close', () => {
      this.#inFlight--;
      clearTimeout(timer);
    });
    return true;
  }

  /** The answer when the exporter will not take on another large response now. */
  refuse(res: ServerResponse): void {
    sendError(res, 'too_many_responses', undefined, { 'Retry-After': '1' });
  }

  get inFlight(): number {
    return this.#inFlight;
  }
}
