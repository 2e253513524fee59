// Reads HTTP/1.1 responses off a raw socket, strictly: for tests that send bytes no HTTP client
// would (test/fuzz-http.test.ts). Checks each status line and header block, skips 1xx answers;
// bodies framed by Content-Length or chunked (the streamed /api/v1/agents/).

import { connect, type Socket } from 'node:net';

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
  const broken = (what: string): HttpResponse => ({
    status: 0,
    head: `${what}: ${buf.subarray(0, 100).toString('latin1')}`,
    body: '',
    close: true,
    wellFormed: false,
  });

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
      const chunked = /^chunked$/i.test(header('transfer-encoding') ?? '');
      const noBody = methodOf() === 'HEAD' || status === 204 || status === 304;
      if (chunked && length === undefined && !noBody) {
        // Chunks: a hex size line, that many bytes, CRLF; a zero size and an empty line end it.
        const parts: Buffer[] = [];
        for (;;) {
          let eol = buf.indexOf('\r\n');
          while (eol < 0) {
            if (!(await more())) {
              yield broken('closed inside a chunked body');
              return;
            }
            eol = buf.indexOf('\r\n');
          }
          const n = parseInt(buf.subarray(0, eol).toString('latin1'), 16);
          if (!Number.isInteger(n) || n < 0) {
            yield broken('bad chunk size');
            return;
          }
          while (buf.length < eol + 2 + n + 2) {
            if (!(await more())) {
              yield broken('closed inside a chunk');
              return;
            }
          }
          if (n === 0) {
            buf = buf.subarray(eol + 4);
            break;
          }
          parts.push(buf.subarray(eol + 2, eol + 2 + n));
          buf = buf.subarray(eol + 2 + n + 2);
        }
        const body = Buffer.concat(parts).toString('utf8');
        yield { status, head, body, close: /^close$/i.test(header('connection') ?? ''), wellFormed: m !== null };
        continue;
      }
      let size = noBody ? 0 : length !== undefined && /^\d+$/.test(length) ? Number(length) : -1;
      const toClose = size < 0;
      if (size < 0 && !noBody) {
        // Without a length or chunks the body runs to the close.
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
      const close = /^close$/i.test(header('connection') ?? '');
      // Framed by a length, or chunks, or (HTTP/1.0 style) the close the answer announces.
      yield { status, head, body, close, wellFormed: m !== null && (length !== undefined || (chunked && noBody) || (toClose && close)) };
    }
  }
  return responses();
}

/** Sends a raw GET `path`; resolves once the headers arrived, with the socket paused and the body bytes read so far. */
export function scrapeHeaders(url: string, path = '/metrics'): Promise<{ socket: Socket; head: string; bodyBytes: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`));
    let got = '';
    socket.on('error', reject);
    socket.on('data', function onData(c: Buffer) {
      got += c.toString('latin1');
      if (!got.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.pause();
      const end = got.indexOf('\r\n\r\n');
      resolve({ socket, head: got.slice(0, end), bodyBytes: got.length - end - 4 });
    });
  });
}

/**
 * The answers on `socket` in order, their bodies counted, not kept (Content-Length or chunked):
 * for answers of many MB, which readResponses would gather. Null once the socket closes.
 */
export function countResponses(
  socket: Socket,
): AsyncIterator<{ status: number; head: string; bodyBytes: number; whole: boolean } | null, null> {
  const queue: Buffer[] = [];
  let ended = false;
  let wake: (() => void) | null = null;
  socket.on('data', (c: Buffer) => {
    queue.push(c);
    wake?.();
  });
  socket.on('close', () => {
    ended = true;
    wake?.();
  });
  socket.on('error', () => undefined);
  let buf = Buffer.alloc(0);
  /** At least `n` bytes in buf (false: the connection ended first). */
  const need = async (n: number): Promise<boolean> => {
    while (buf.length < n) {
      if (queue.length) buf = Buffer.concat([buf, ...queue.splice(0)]);
      else if (ended) return false;
      else await new Promise<void>((resolve) => (wake = resolve));
    }
    return true;
  };
  /** Drops `n` body bytes as they come; how many there were. */
  const skip = async (n: number): Promise<number> => {
    let left = n;
    while (left > 0) {
      if (buf.length === 0 && !(await need(1))) break;
      const k = Math.min(left, buf.length);
      buf = buf.subarray(k);
      left -= k;
    }
    return n - left;
  };
  const line = async (): Promise<string | null> => {
    let at = buf.indexOf('\r\n');
    while (at < 0) {
      if (!(await need(buf.length + 1))) return null;
      at = buf.indexOf('\r\n');
    }
    const l = buf.subarray(0, at).toString('latin1');
    buf = buf.subarray(at + 2);
    return l;
  };
  async function* answers() {
    for (;;) {
      let end = buf.indexOf('\r\n\r\n');
      while (end < 0) {
        if (!(await need(buf.length + 1))) return null;
        end = buf.indexOf('\r\n\r\n');
      }
      const head = buf.subarray(0, end).toString('latin1');
      buf = buf.subarray(end + 4);
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0);
      const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
      if (length !== undefined) {
        const got = await skip(Number(length));
        yield { status, head, bodyBytes: got, whole: got === Number(length) };
        continue;
      }
      let bodyBytes = 0;
      let whole = false;
      for (;;) {
        const size = await line();
        if (size === null) break;
        const n = parseInt(size, 16);
        if (n === 0) {
          whole = (await line()) === '';
          break;
        }
        bodyBytes += await skip(n);
        if ((await line()) !== '') break;
      }
      yield { status, head, bodyBytes, whole };
    }
  }
  return answers();
}
