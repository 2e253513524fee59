// Small response writers shared by the handlers.

import type { ServerResponse } from 'node:http';

export function sendText(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8', headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  sendText(res, status, JSON.stringify(value), 'application/json', headers);
}

/** Bytes copied per socket write by sendChunks: big enough for few writes, small next to a scrape. */
const BLOCK_BYTES = 256 * 1024;

/** Blocks whose write completed, kept for the next ones: a scrape then leaves no garbage of its own size. */
const spareBlocks: Buffer[] = [];
const SPARE_BLOCKS_MAX = 8;

const takeBlock = (): Buffer => spareBlocks.pop() ?? Buffer.allocUnsafeSlow(BLOCK_BYTES);
const releaseBlock = (block: Buffer) => (): void => {
  if (spareBlocks.length < SPARE_BLOCKS_MAX) spareBlocks.push(block);
};

/**
 * Sends byte chunks as one body of known length. They are copied into blocks written one at a time,
 * each after the socket took the previous one, so a /metrics of tens of MB never has a second
 * copy of itself in memory and the event loop serves reports between blocks. The chunks must not
 * change meanwhile (the series caches replace an object's bytes, never edit them).
 */
export async function sendChunks(res: ServerResponse, type: string, chunks: readonly Buffer[]): Promise<void> {
  let length = 0;
  for (const c of chunks) length += c.length;
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': length });
  if (res.req.method === 'HEAD') return void res.end();
  let block = takeBlock();
  let used = 0;
  for (const c of chunks) {
    if (used + c.length > BLOCK_BYTES && used > 0) {
      // The socket holds the block until its write completes; then it is spare again.
      if (!(await written(res, res.write(block.subarray(0, used), releaseBlock(block))))) return;
      block = takeBlock();
      used = 0;
    }
    if (c.length > BLOCK_BYTES) {
      if (!(await written(res, res.write(c)))) return;
    } else {
      block.set(c, used); // not c.copy(): that makes a view per call, and a scrape has 100,000s of chunks
      used += c.length;
    }
  }
  res.end(block.subarray(0, used), releaseBlock(block));
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
