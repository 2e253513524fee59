// The bearer token the agent sends with each report (--token-file): read again before every
// report, because the kubelet rotates a projected token in place (an atomic symlink swap) well
// before it expires. One small read per interval; a file that cannot be read keeps the last good
// token (the exporter says 401 if that is no longer valid) and is logged once, not per report.

import { readFile } from 'node:fs/promises';
import type { Logger } from '../lib/log.js';

export class TokenFile {
  readonly #path: string;
  readonly #log: Logger;
  #token: string | null = null;
  #problem: string | null = null;

  constructor(path: string, log: Logger) {
    this.#path = path;
    this.#log = log;
  }

  /** The current token, or null when none could be read yet. */
  async read(): Promise<string | null> {
    let problem: string | null = null;
    try {
      const token = (await readFile(this.#path, 'utf8')).trim();
      if (token === '' || /\s/.test(token)) problem = 'the file does not hold one token';
      else this.#token = token;
    } catch (e) {
      problem = (e as NodeJS.ErrnoException).code ?? 'unreadable';
    }
    if (problem !== this.#problem) {
      if (problem)
        this.#log.warn('token file unusable', {
          file: this.#path,
          error: problem,
          sending: this.#token ? 'the last good token' : 'no token',
        });
      else if (this.#problem) this.#log.info('token file readable again', { file: this.#path });
      this.#problem = problem;
    }
    return this.#token;
  }
}
