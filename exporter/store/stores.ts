// The table of store backends, keyed by the --store flag's values.

import { MemoryStore } from './memory.js';
import type { Store } from './store.js';

export const stores: Record<string, () => Store> = {
  memory: () => new MemoryStore(),
};
