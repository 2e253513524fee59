// --auth token: one shared secret read from a file at start and again whenever the file changes
// (checked every few seconds, off the hot path). Tokens are compared in constant time: both
// sides are hashed to SHA-256 first, so the comparison never depends on the secret's length.

import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { FlagError } from '../../lib/flags.js';
import type { Logger } from '../../lib/log.js';
import { TOKEN68 } from './bearer.js';

/** How often the file's mtime, size and inode are looked at. */
export const RECHECK_MS = 2000;
const MIN_SECRET_CHARS = 16;

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export class SharedSecret {
  readonly #path: string;
  readonly #log: Logger;
  #digest: Buffer;
  #stamp: string;
  readonly #timer: NodeJS.Timeout;

  /** Throws a readable error when the file cannot be read or holds no usable secret. */
  constructor(path: string, log: Logger) {
    this.#path = path;
    this.#log = log;
    const first = this.#load();
    if (typeof first === 'string') throw new FlagError(`--auth-token-file ${path}: ${first}`);
    [this.#digest, this.#stamp] = [first.digest, first.stamp];
    this.#timer = setInterval(() => this.#recheck(), RECHECK_MS).unref();
  }

  matches(token: string): boolean {
    return timingSafeEqual(digest(token), this.#digest);
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #recheck(): void {
    let stamp: string;
    try {
      stamp = stampOf(this.#path);
    } catch {
      stamp = 'unreadable';
    }
    if (stamp === this.#stamp) return;
    const next = this.#load();
    // A file caught half-written or removed keeps the previous secret: agents keep reporting.
    if (typeof next === 'string')
      return this.#log.warn('auth token file unusable; keeping the previous secret', { file: this.#path, error: next });
    this.#stamp = next.stamp;
    if (!next.digest.equals(this.#digest)) this.#log.info('auth token file changed; new secret in use', { file: this.#path });
    this.#digest = next.digest;
  }

  #load(): { digest: Buffer; stamp: string } | string {
    try {
      const stamp = stampOf(this.#path);
      const secret = readFileSync(this.#path, 'utf8').trim();
      if (secret.length < MIN_SECRET_CHARS) return `the secret must be at least ${MIN_SECRET_CHARS} characters`;
      if (!TOKEN68.test(secret)) return 'the secret must be one bearer token (letters, digits, -._~+/ and trailing =)';
      return { digest: digest(secret), stamp };
    } catch (e) {
      return (e as NodeJS.ErrnoException).code ?? 'unreadable';
    }
  }
}

function stampOf(path: string): string {
  const s = statSync(path);
  return `${s.mtimeMs}:${s.size}:${s.ino}`;
}
