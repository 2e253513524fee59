// Every error the API answers, in one table: code (also the `reason` label of
// netchecker_reports_rejected_total), HTTP status and the message a user reads.
// Responses carry the code and message only, never a stack trace.

import type { ServerResponse } from 'node:http';
import type { DecodeErrorCode } from '../../report/decode.js';
import { sendJson } from './respond.js';

export const ERRORS = {
  invalid_json: { status: 400, message: 'The body is not valid JSON.' },
  invalid_encoding: { status: 400, message: 'The body is not valid UTF-8.' },
  too_deep: { status: 400, message: 'The JSON is nested too deeply.' },
  not_an_object: { status: 400, message: 'The report must be a JSON object.' },
  missing_field: { status: 400, message: 'A required field is missing.' },
  invalid_field: { status: 400, message: 'A field has the wrong type or is out of range.' },
  invalid_agent_name: {
    status: 400,
    message: 'The agent name must be a Kubernetes pod name: lowercase letters, digits, "-" and ".", at most 253 characters.',
  },
  invalid_query: { status: 400, message: 'This endpoint takes no query parameters.' },
  body_too_large: { status: 413, message: 'The body is larger than the exporter accepts (--max-body-bytes).' },
  unsupported_media_type: { status: 415, message: 'Reports must be sent as Content-Type: application/json (or text/plain, or with no type).' },
  request_aborted: { status: 400, message: 'The request body was not received completely.' },
  not_found: { status: 404, message: 'No such endpoint.' },
  agent_not_found: { status: 404, message: 'No report is stored for this agent.' },
  method_not_allowed: { status: 405, message: 'This method is not allowed on this endpoint.' },
  not_ready: { status: 503, message: 'The exporter is not ready.' },
  internal: { status: 500, message: 'Internal error; the exporter logged the details.' },
} as const satisfies Record<DecodeErrorCode | string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** Reasons a report can be rejected for: the values of the rejected counter's `reason` label. */
export const REJECT_REASONS = [
  'invalid_json',
  'invalid_encoding',
  'too_deep',
  'not_an_object',
  'missing_field',
  'invalid_field',
  'invalid_agent_name',
  'body_too_large',
  'unsupported_media_type',
  'request_aborted',
] as const satisfies readonly ErrorCode[];
export type RejectReason = (typeof REJECT_REASONS)[number];

export function sendError(res: ServerResponse, code: ErrorCode, detail?: string, headers: Record<string, string> = {}): void {
  const { status, message } = ERRORS[code];
  sendJson(res, status, { error: code, message: detail ? `${message} ${detail}` : message }, headers);
}
