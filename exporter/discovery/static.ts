// Static discovery: a fixed list of agent names from --expect or --expect-file, or no list at
// all (the expected set is then the agents that have reported).

import { readFile } from 'node:fs/promises';
import { FlagError, fileError } from '../../lib/flags.js';
import { isValidAgentName } from '../../report/schema.js';
import type { Discovery, ExpectedAgent } from './discovery.js';

export class StaticDiscovery implements Discovery {
  readonly #expected: ReadonlyMap<string, ExpectedAgent> | null;

  constructor(names: readonly string[] | null) {
    this.#expected = names === null ? null : new Map(names.map((name) => [name, { name }]));
  }

  expected(): ReadonlyMap<string, ExpectedAgent> | null {
    return this.#expected;
  }

  ready(): boolean {
    return true;
  }

  error(): string | null {
    return null;
  }

  async close(): Promise<void> {}
}

/** Names from --expect and --expect-file (one per line, `#` comments); throws a readable error. */
export async function expectedNames(list: readonly string[], file: string | undefined): Promise<string[] | null> {
  if (list.length === 0 && !file) return null;
  const names = [...list];
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw fileError('--expect-file', file, e);
    }
    for (const line of text.split('\n')) {
      const name = line.replace(/#.*/, '').trim();
      if (name) names.push(name);
    }
  }
  const bad = names.find((n) => !isValidAgentName(n));
  if (bad !== undefined) throw new FlagError(`--expect: expected agent "${bad.slice(0, 80)}" is not a valid pod name`);
  return [...new Set(names)];
}
