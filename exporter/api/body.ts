// Reads a request body up to a byte limit. Refuses early on a declared Content-Length over the
// limit, stops reading as soon as the limit is passed, and insists on valid UTF-8. All bodies
// being read share one budget of bytes held at once (BodyBudget), so that many slow senders of
// large bodies cannot add up to more memory than the operator allowed. A refused body is drained
// (bounded) after the answer, so that the sender reads the answer.

import { isAscii } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { RejectReason } from './errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export type Body = { ok: true; text: string } | { ok: false; code: RejectReason };

/** Body bytes held at once across requests (--max-inflight-body-bytes). */
export class BodyBudget {
  #held = 0;
  constructor(readonly limitBytes: number) {}

  get heldBytes(): number {
    return this.#held;
  }

  take(bytes: number): boolean {
    if (this.#held + bytes > this.limitBytes) return false;
    this.#held += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#held -= bytes;
  }
}

export function readBody(req: IncomingMessage, limitBytes: number, budget: BodyBudget): Promise<Body> {
  const declared = Number(req.headers['content-length']);
  if (declared > limitBytes) return Promise.resolve({ ok: false, code: 'body_too_large' });
  // A declared length is taken from the budget at once, before a byte is read; a chunked body as it comes.
  let reserved = declared > 0 ? declared : 0;
  if (!budget.take(reserved)) return Promise.resolve({ ok: false, code: 'inflight_bodies_full' });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (b: Body): void => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('aborted', onError);
      // Handed back once read: the text is decoded and dropped (or stored, bounded by --max-agents) in this turn.
      budget.give(reserved);
      resolve(b);
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limitBytes) {
        req.pause();
        return done({ ok: false, code: 'body_too_large' });
      }
      if (size > reserved) {
        if (!budget.take(size - reserved)) {
          req.pause();
          return done({ ok: false, code: 'inflight_bodies_full' });
        }
        reserved = size;
      }
      chunks.push(c);
    };
    const onEnd = (): void => {
      const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      // Reports are ASCII: checked and copied in one native pass, without the UTF-8 decoder.
      if (isAscii(bytes)) return done({ ok: true, text: bytes.toString('latin1') });
      try {
        done({ ok: true, text: utf8.decode(bytes) });
      } catch {
        done({ ok: false, code: 'invalid_encoding' });
      }
    };
    const onError = (): void => done({ ok: false, code: 'request_aborted' });
    req.on('data', onData).on('end', onEnd).on('error', onError).on('aborted', onError);
  });
}

/** How long and how much of a refused body is read and dropped after the answer. */
export const LINGER = { ms: 5_000, bytes: 16 * 1024 * 1024 } as const;

/**
 * Lingering close, as Go's server and nginx do it: when a request is refused before its body was
 * read (413, 415, auth), closing at once with the body still arriving makes the kernel send a
 * reset, and the sender loses the answer before reading it. Instead, once the answer is written
 * the connection is half-closed and the rest of the body read and dropped until it ends, for at
 * most LINGER.ms and LINGER.bytes, then closed. Node closes a `Connection: close` answer through
 * socket.destroySoon(), so that is where this takes over.
 */
export function lingerOnClose(req: IncomingMessage): void {
  if (req.complete) return;
  const socket = req.socket as Socket & { destroySoon?: () => void };
  socket.destroySoon = () => {
    socket.end(); // after the answer: the sender sees the end of our side
    // Node may already drop the body unseen (a request whose body was never read), so the bytes
    // are counted on the socket, not as body data.
    const until = socket.bytesRead + LINGER.bytes;
    const started = Date.now();
    const check = setInterval(() => {
      if (socket.bytesRead > until || Date.now() - started >= LINGER.ms) socket.destroy();
    }, 50);
    socket.once('close', () => clearInterval(check));
    req.once('end', () => socket.destroy()).resume();
  };
}

/**
 * Content types a report may come with. The original server never looked, so besides JSON we take
 * none, text/plain and curl's default form type (`curl -d @report.json`); multipart, HTML and
 * the like are refused.
 */
const REPORT_TYPES = new Set(['', 'application/json', 'text/plain', 'application/x-www-form-urlencoded']);

export function isReportContentType(header: string | undefined): boolean {
  const type = ((header ?? '').split(';')[0] as string).trim().toLowerCase();
  return REPORT_TYPES.has(type) || (type.startsWith('application/') && type.endsWith('+json'));
}
