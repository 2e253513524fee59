// The recent state changes of agents, for the status page: a bounded ring the monitor appends to
// when a recomputed verdict moves an agent to another state. Memory stays constant however long
// the exporter runs; the oldest change is overwritten first.

import type { Network } from '../../report/schema.js';
import type { State } from '../verdict/verdict.js';

export interface Transition {
  readonly agent: string;
  readonly node: string;
  readonly network: Network;
  readonly from: State;
  readonly to: State;
  readonly reason: string;
  /** Exporter wall clock, epoch ms. */
  readonly atWallMs: number;
}

/** Changes kept: enough for a rollout of a few hundred nodes, a few hundred KB at most. */
export const TRANSITIONS_KEPT = 1000;

export class TransitionRing {
  readonly #items: Transition[] = [];
  readonly #capacity: number;
  #next = 0;

  constructor(capacity = TRANSITIONS_KEPT) {
    this.#capacity = capacity;
  }

  push(t: Transition): void {
    if (this.#items.length < this.#capacity) this.#items.push(t);
    else this.#items[this.#next] = t;
    this.#next = (this.#next + 1) % this.#capacity;
  }

  /** The latest `limit` changes, newest first. */
  latest(limit: number): Transition[] {
    const out: Transition[] = [];
    const n = this.#items.length;
    for (let i = 1; i <= Math.min(limit, n); i++) out.push(this.#items[(this.#next - i + n) % n] as Transition);
    return out;
  }
}
