// The embedded default store: a Map. State is lost on restart; agents fill it again within
// one report interval.

import type { AgentRecord, Store, StoreHealth } from './store.js';

const HEALTHY: StoreHealth = Object.freeze({ up: true, queued: 0 });

export class MemoryStore implements Store {
  readonly #records = new Map<string, AgentRecord>();
  readonly local: boolean = true;

  async put(record: AgentRecord): Promise<void> {
    this.#records.set(record.name, record);
  }

  async delete(name: string): Promise<void> {
    this.#records.delete(name);
  }

  get(name: string): AgentRecord | undefined {
    return this.#records.get(name);
  }

  records(): IterableIterator<AgentRecord> {
    return this.#records.values();
  }

  ready(): boolean {
    return true;
  }

  synced(): boolean {
    return true;
  }

  /** Nothing changes a Map behind this process's back. */
  onChange(): void {}

  /** Every replica derives the verdict from the full records it holds. */
  judged(): void {}

  health(): StoreHealth {
    return HEALTHY;
  }

  async close(): Promise<void> {}
}
