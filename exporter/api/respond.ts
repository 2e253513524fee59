// Small response writers shared by the handlers.

import type { ServerResponse } from 'node:http';
import { type Exposition, expositionLength, type FamilyLines } from '../metrics/exposition.js';

export function sendText(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8', headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  sendText(res, status, JSON.stringify(value), 'application/json', headers);
}

/** Bytes per socket write: big enough for few writes, small next to a scrape. */
const WRITE_BYTES = 256 * 1024;

/** The last scrape's body buffer, once its writes completed: the next scrape fills it again. */
let spare: Buffer | null = null;

function bodyBuffer(length: number): Buffer {
  const b = spare;
  spare = null;
  // Reused while the exposition fits and is not much smaller (agents gone: give the memory back).
  if (b && b.length >= length && b.length <= 2 * length) return b;
  return Buffer.allocUnsafeSlow(Math.ceil(length * 1.1));
}

/**
 * Copies the exposition into `body`. The lines are kept per object and sent per family, so they
 * are read object by object (each object's lines sit together in memory), each family's written
 * at its own place: about half the time of copying them family by family.
 */
function fill(body: Buffer, parts: Exposition): void {
  const at: number[] = [];
  const tables = new Map<FamilyLines['rows'], Array<{ family: number; part: number }>>();
  let offset = 0;
  parts.forEach((p, i) => {
    at.push(offset);
    offset += p.length;
    if (Buffer.isBuffer(p)) body.set(p, at[i]);
    else {
      let families = tables.get(p.rows);
      if (!families) tables.set(p.rows, (families = []));
      families.push({ family: p.family, part: i });
    }
  });
  for (const [rows, families] of tables) {
    for (const row of rows) {
      for (const { family, part } of families) {
        const c = row[family] as Buffer;
        body.set(c, at[part]); // not c.copy(): that makes a view per call, and a scrape has 100,000s of chunks
        (at[part] as number) += c.length;
      }
    }
  }
}

/**
 * Sends an exposition as one body of known length, written in slices, each after the socket
 * took the previous one, so the event loop serves reports meanwhile. The body buffer is kept for
 * the next scrape (a scrape that starts while one is being written gets its own).
 */
export async function sendExposition(res: ServerResponse, type: string, parts: Exposition): Promise<void> {
  const length = expositionLength(parts);
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': length });
  if (res.req.method === 'HEAD') return void res.end();
  const body = bodyBuffer(length);
  fill(body, parts);
  for (let at = 0; at < length; at += WRITE_BYTES) {
    if (!(await written(res, res.write(body.subarray(at, Math.min(length, at + WRITE_BYTES)))))) return;
  }
  // Spare again only once the socket has taken every slice.
  res.end(() => {
    spare = body;
  });
}

/** After a write: waits for the socket if it is full (`ok` false); false when the client went away. */
async function written(res: ServerResponse, ok: boolean): Promise<boolean> {
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
