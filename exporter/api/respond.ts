// Small response writers shared by the handlers, and the paced writer of large bodies.

import type { ServerResponse } from 'node:http';

export function sendText(
  res: ServerResponse,
  status: number,
  body: string,
  type = 'text/plain; charset=utf-8',
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  sendText(res, status, JSON.stringify(value), 'application/json', headers);
}

/** Bytes per socket write: big enough for few writes, small next to a scrape. */
const WRITE_BYTES = 256 * 1024;

/**
 * Writes body[0, length) in slices, each after the socket took the previous one, so the event
 * loop serves reports meanwhile and a slow reader holds no copy. Resolves once the socket has
 * taken every slice, or the client went away (false).
 */
export async function writeSlices(res: ServerResponse, body: Buffer, length: number): Promise<boolean> {
  for (let at = 0; at < length; at += WRITE_BYTES) {
    if (!(await written(res, res.write(body.subarray(at, Math.min(length, at + WRITE_BYTES)))))) return false;
  }
  return new Promise((resolve) => res.end(() => resolve(true)));
}

/** After a write: waits for the socket if it is full (`ok` false); false when the client went away. */
export async function written(res: ServerResponse, ok: boolean): Promise<boolean> {
  if (!ok) {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        res.off('drain', done).off('close', done);
        resolve();
      };
      res.on('drain', done).on('close', done);
    });
  }
  return !res.destroyed;
}
