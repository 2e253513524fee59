// GET /metrics: the agent series (prepared per agent, exporter/metrics/) and the exporter's own.
// A scrape renders a fresh body while fewer than MAX_BODIES are being read; beyond that it
// shares the newest one if that was rendered within SHARE_MS, and gets 503 otherwise. A body
// nobody reads any more leaves its buffer for the next render. So concurrent, pipelined and
// stalled scrapers cost at most MAX_BODIES bodies (plus that one spare buffer), not one each.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Exposition, FamilyLines } from '../metrics/exposition.js';
import { expositionLength } from '../metrics/exposition.js';
import type { SelfMetrics } from '../metrics/self.js';
import type { Monitor } from '../monitor.js';
import type { LargeResponses } from './large-responses.js';
import { writeSlices } from './respond.js';

/** Distinct bodies being read at once: one can be held by a reader that does not read, the other is fresh. */
export const MAX_BODIES = 2;
/** Beyond MAX_BODIES, a scrape may be served a body rendered this long ago (the verdict's own refresh period). */
export const SHARE_MS = 1000;
const TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface Body {
  readonly buffer: Buffer;
  readonly length: number;
  readonly renderedMs: number;
  readers: number;
}

export interface MetricsDeps {
  readonly monitor: Monitor;
  readonly self: SelfMetrics;
  readonly large: LargeResponses;
  /** Monotonic ms. */
  readonly now: () => number;
}

export function metricsHandler({ monitor, self, large, now }: MetricsDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  /** Bodies being read. */
  const read = new Set<Body>();
  /** The newest body, while it is being read. */
  let newest: Body | null = null;
  /** The buffer of a body read out: the next render fills it. */
  let spare: Buffer | null = null;

  /** A buffer for `length` bytes: the spare while it fits and is not much larger (agents gone: give the memory back). */
  const bufferFor = (length: number): Buffer => {
    const b = spare;
    spare = null;
    if (b && b.length >= length && b.length <= 2 * length) return b;
    return Buffer.allocUnsafeSlow(Math.ceil(length * 1.1));
  };

  /** The body this scrape reads, or null when MAX_BODIES are being read and the newest is not fresh. */
  const acquire = (selfText: string): Body | null => {
    const t = now();
    if (read.size >= MAX_BODIES) {
      if (!newest || t - newest.renderedMs > SHARE_MS) return null;
      newest.readers++;
      return newest;
    }
    const end = self.renderSeconds.startTimer();
    const parts = monitor.metricsExposition();
    end();
    parts.push(Buffer.from(selfText));
    const length = expositionLength(parts);
    const buffer = bufferFor(length);
    fill(buffer, parts);
    // Its age counts from now: rendering is synchronous, nothing changed while it ran.
    newest = { buffer, length, renderedMs: now(), readers: 1 };
    read.add(newest);
    return newest;
  };

  const release = (b: Body): void => {
    if (--b.readers > 0) return;
    read.delete(b);
    if (b === newest) newest = null;
    if (!spare || b.buffer.length > spare.length) spare = b.buffer;
  };

  return async (req, res) => {
    if (!large.begin(res)) return;
    await monitor.fresh();
    const selfText = await self.registry.metrics();
    if (res.destroyed) return;
    const body = acquire(selfText);
    if (!body) return large.refuse(res);
    res.once('close', () => release(body));
    res.writeHead(200, { 'Content-Type': TYPE, 'Content-Length': body.length });
    if (req.method === 'HEAD') return void res.end();
    await writeSlices(res, body.buffer, body.length);
  };
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
