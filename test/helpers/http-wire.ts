// Reads HTTP/1.1 responses off a raw socket, strictly: for tests that send bytes no HTTP client
// would (test/fuzz-http.test.ts). Checks each status line and header block, skips 1xx answers.

import type { Socket } from 'node:net';

export interface HttpResponse {
  status: number;
  head: string;
  body: string;
  /** The exporter said Connection: close. */
  close: boolean;
  /** Status line, header lines and body framing all as HTTP/1.1 requires. */
  wellFormed: boolean;
}

const HEAD = /^HTTP\/1\.[01] ([1-5]\d\d) [^\r\n]*(\r\n[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n]*)*$/;
const WAIT_MS = 15_000;

/**
 * The responses on `socket` in order; null once it closes between responses. A response that never
 * completes (closed or silent for 15 s) comes out as one that is not well-formed. `methodOf`
 * names the method of the request being answered (HEAD answers have no body).
 */
export function readResponses(socket: Socket, methodOf: () => string): AsyncIterator<HttpResponse | null> {
  let buf: Buffer = Buffer.alloc(0);
  let ended = false;
  let wake: (() => void) | null = null;
  socket.on('data', (c: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, c]) : c;
    wake?.();
  });
  socket.on('close', () => {
    ended = true;
    wake?.();
  });
  socket.on('error', () => undefined); // resets end the stream like a close
  /** Waits for more bytes (at most WAIT_MS); false when none came. */
  const more = async (): Promise<boolean> => {
    const before = buf.length;
    if (!ended) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          wake = null;
          resolve();
        }, WAIT_MS);
        wake = () => {
          clearTimeout(timer);
          wake = null;
          resolve();
        };
      });
    }
    return buf.length > before;
  };
  const broken = (what: string): HttpResponse => ({ status: 0, head: `${what}: ${buf.subarray(0, 100).toString('latin1')}`, body: '', close: true, wellFormed: false });

  async function* responses(): AsyncGenerator<HttpResponse | null> {
    for (;;) {
      let end = buf.indexOf('\r\n\r\n');
      while (end < 0) {
        if (!(await more())) {
          yield ended && buf.length === 0 ? null : broken(ended ? 'closed inside a response head' : 'no answer');
          return;
        }
        end = buf.indexOf('\r\n\r\n');
      }
      const head = buf.subarray(0, end).toString('latin1');
      buf = buf.subarray(end + 4);
      const m = HEAD.exec(head);
      const status = Number(m?.[1] ?? 0);
      if (status >= 100 && status < 200) continue;
      const header = (name: string): string | undefined => new RegExp(`\r\n${name}:[ \t]*([^\r\n]*)`, 'i').exec(head)?.[1]?.trim();
      const length = header('content-length');
      const noBody = methodOf() === 'HEAD' || status === 204 || status === 304;
      let size = noBody ? 0 : length !== undefined && /^\d+$/.test(length) ? Number(length) : -1;
      if (size < 0 && !noBody) {
        // Without a length the body runs to the close (chunked is not expected from this server).
        while (await more());
        size = buf.length;
      }
      while (buf.length < size) {
        if (!(await more())) {
          yield broken('body shorter than Content-Length');
          return;
        }
      }
      const body = buf.subarray(0, size).toString('utf8');
      buf = buf.subarray(size);
      yield { status, head, body, close: /^close$/i.test(header('connection') ?? ''), wellFormed: m !== null && length !== undefined };
    }
  }
  return responses();
}
