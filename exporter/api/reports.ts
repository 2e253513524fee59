// Reports in, stored records out: POST/GET /api/v1/agents/{name} and GET /api/v1/agents/.
// Ingest is the hot path: one byte-limited read, one decode, one store put, no log per success.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Caller, refusalHeaders, type ReportAuth } from '../auth/auth.js';
import { decodeReport } from '../../report/decode.js';
import { recordJson } from '../../report/encode.js';
import { isValidAgentName } from '../../report/schema.js';
import type { Monitor } from '../monitor.js';
import type { SelfMetrics } from '../metrics/self.js';
import { RecordTooLargeError, type Store } from '../store/store.js';
import { StoreUnavailableError, storeDeadline } from '../store/deadline.js';
import type { Discovery } from '../discovery/discovery.js';
import { type BodyBudget, isReportContentType, lingerOnClose, readBody } from './body.js';
import type { RejectReason } from '../errors.js';
import { sendError } from './errors.js';
import type { LargeResponses } from './large-responses.js';
import { sendJson, written } from './respond.js';

/** Characters of /api/v1/agents/ per write: what each reader that does not read holds (about twice that in bytes). */
const LIST_SLICE_CHARS = 16 * 1024;

export interface ReportsDeps {
  readonly monitor: Monitor;
  readonly store: Store;
  readonly discovery: Discovery;
  readonly self: SelfMetrics;
  readonly maxBodyBytes: number;
  readonly bodyBudget: BodyBudget;
  readonly maxAgents: number;
  readonly maxReportIntervalSeconds: number;
  /** --auth: null lets anyone report (none). */
  readonly auth: ReportAuth | null;
  readonly large: LargeResponses;
}

export function reportHandlers({
  monitor,
  store,
  discovery,
  self,
  maxBodyBytes,
  bodyBudget,
  maxAgents,
  maxReportIntervalSeconds,
  auth,
  large,
}: ReportsDeps) {
  const reject = (res: ServerResponse, code: RejectReason, detail?: string, headers?: Record<string, string>): void => {
    self.rejected(code);
    // The rest of a refused body is not read: the connection closes, after a bounded drain.
    lingerOnClose(res.req);
    sendError(res, code, detail, { Connection: 'close', ...headers });
  };

  return {
    post: async (req: IncomingMessage, res: ServerResponse, name: string): Promise<void> => {
      if (!isValidAgentName(name)) return reject(res, 'invalid_agent_name');
      if (!isReportContentType(req.headers['content-type'])) return reject(res, 'unsupported_media_type');
      let caller: Caller = null;
      if (auth) {
        // Before the body is read: a refused caller costs no read. A known token answers synchronously.
        const pending = auth.authenticate(req.headers.authorization);
        const a = pending instanceof Promise ? await pending : pending;
        if (!a.ok) return reject(res, a.code, a.detail, refusalHeaders(a.code));
        caller = a.value;
      }
      if (isNewAgentOverCap(store, discovery, name, maxAgents))
        return reject(res, 'too_many_agents', undefined, { 'Retry-After': String(RETRY_NEW_AGENT_SECONDS) });
      const body = await readBody(req, maxBodyBytes, bodyBudget);
      if (!body.ok) return reject(res, body.code, undefined, body.code === 'inflight_bodies_full' ? { 'Retry-After': '1' } : undefined);
      const decoded = decodeReport(body.text);
      if (!decoded.ok) return reject(res, decoded.code, decoded.detail);
      if (decoded.value.intervalSeconds > maxReportIntervalSeconds)
        return reject(res, 'interval_too_long', `report_interval ${decoded.value.intervalSeconds} > ${maxReportIntervalSeconds}.`);
      const denied = auth?.authorize(caller, name, decoded.value);
      if (denied) return reject(res, denied.code, denied.detail, refusalHeaders(denied.code));
      try {
        const stored = monitor.ingest(name, decoded.value, req.socket.remoteAddress ?? null);
        await (store.local ? stored : storeDeadline(stored));
      } catch (e) {
        // Refused before it was acknowledged: what gets 200 is what the store can keep.
        if (e instanceof RecordTooLargeError) return reject(res, 'body_too_large', e.message);
        if (!(e instanceof StoreUnavailableError)) throw e;
        self.rejected('store_unavailable');
        return sendError(res, 'store_unavailable', e.message, { 'Retry-After': '1' });
      }
      self.accepted();
      res.writeHead(200, { 'Content-Length': 0 });
      res.end();
    },

    getOne: async (_req: IncomingMessage, res: ServerResponse, name: string): Promise<void> => {
      await monitor.fresh(); // agents that are gone are pruned before it
      const record = isValidAgentName(name) ? store.get(name) : undefined;
      if (!record) return sendError(res, isValidAgentName(name) ? 'agent_not_found' : 'invalid_agent_name');
      sendJson(res, 200, recordJson(record.report, record.receivedWallMs));
    },

    /**
     * Streamed record by record (one JSON text would pass V8's string limit at a few hundred MB
     * of records: a 500 "Invalid string length"), each slice written once the socket took the
     * one before, so a reader that does not read holds one slice, not the whole answer.
     */
    list: async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      if (!large.begin(res)) return;
      await monitor.fresh();
      const records = [...store.records()]; // the records as they are now, whatever arrives meanwhile
      if (req.method === 'HEAD') {
        // What a GET would carry; Node adds the chunked framing itself only where a body follows.
        res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
        return void res.end();
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      let slice = '{';
      let comma = '';
      for (const r of records) {
        slice += `${comma}${JSON.stringify(r.name)}:${JSON.stringify(recordJson(r.report, r.receivedWallMs))}`;
        comma = ',';
        if (slice.length >= LIST_SLICE_CHARS) {
          if (!(await written(res, res.write(slice)))) return;
          slice = '';
        }
      }
      res.end(`${slice}}`);
    },
  };
}

/** Agents are pruned once silent for --report-ttl: a refused new agent may try again about then. */
const RETRY_NEW_AGENT_SECONDS = 60;

/**
 * A report from an agent the store does not hold, nobody expects, and for which there is no room
 * (--max-agents). Expected agents (the discovery's, from --expect or the Kubernetes API) are
 * always taken: the cap is on names a sender makes up. Counts at most maxAgents records, and only
 * for a name not stored yet.
 */
function isNewAgentOverCap(store: Store, discovery: Discovery, name: string, maxAgents: number): boolean {
  if (store.get(name) !== undefined || discovery.expected()?.has(name)) return false;
  let n = 0;
  for (const _ of store.records()) if (++n >= maxAgents) return true;
  return false;
}
