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
  too_many_values: { status: 400, message: 'The JSON has more array entries than any report holds.' },
  not_an_object: { status: 400, message: 'The report must be a JSON object.' },
  missing_field: { status: 400, message: 'A required field is missing.' },
  invalid_field: { status: 400, message: 'A field has the wrong type or is out of range.' },
  invalid_agent_name: {
    status: 400,
    message: 'The agent name must be a Kubernetes pod name: lowercase letters, digits, "-" and ".", at most 253 characters.',
  },
  interval_too_long: { status: 400, message: 'The report_interval is longer than the exporter accepts (--max-report-interval).' },
  invalid_query: { status: 400, message: 'This endpoint takes no query parameters.' },
  body_too_large: { status: 413, message: 'The body is larger than the exporter accepts (--max-body-bytes).' },
  too_many_agents: { status: 429, message: 'The exporter holds as many agents as it accepts (--max-agents); a new agent is taken once one is pruned.' },
  inflight_bodies_full: { status: 503, message: 'The exporter is receiving as many request bytes as it holds at once (--max-inflight-body-bytes); send the report again.' },
  unsupported_media_type: { status: 415, message: 'Reports must be sent as Content-Type: application/json (or text/plain, or with no type).' },
  request_aborted: { status: 400, message: 'The request body was not received completely.' },
  too_many_headers: { status: 431, message: 'The request has more than 100 header fields.' },
  repeated_authorization: { status: 400, message: 'The request has more than one Authorization header.' },
  too_many_responses: { status: 503, message: 'Too many large responses are being sent right now; try again shortly.' },
  not_found: { status: 404, message: 'No such endpoint.' },
  agent_not_found: { status: 404, message: 'No report is stored for this agent.' },
  method_not_allowed: { status: 405, message: 'This method is not allowed on this endpoint.' },
  not_ready: { status: 503, message: 'The exporter is not ready.' },
  // --auth and --metrics-auth (docs/security.md): 401 the token is missing or not valid for us,
  // 403 valid but not allowed this, 429/503 not checked now (the agent retries).
  auth_missing: { status: 401, message: 'This exporter requires a bearer token (Authorization: Bearer <token>).' },
  auth_malformed: { status: 401, message: 'The Authorization header is not a well-formed bearer token.' },
  auth_invalid: { status: 401, message: 'The token is not valid.' },
  auth_audience: { status: 401, message: 'The token is not meant for this exporter.' },
  auth_not_service_account: { status: 403, message: 'Only agent service accounts may send reports.' },
  auth_not_bound: { status: 403, message: 'The token must be bound to the agent pod.' },
  auth_name_mismatch: { status: 403, message: 'An agent may only report under its own pod name.' },
  auth_node_mismatch: { status: 403, message: "An agent may only report its own pod's node." },
  auth_stale_pod: { status: 403, message: "The token belongs to a pod that no longer exists." },
  auth_network_mismatch: { status: 403, message: "An agent may only report its own pod's network." },
  auth_listen_mismatch: { status: 403, message: "An agent may only advertise a listener on its own pod's IP (or in --peer-cidrs)." },
  auth_pod_unknown: { status: 503, message: 'The exporter does not know the pod yet.' },
  auth_rate_limited: { status: 429, message: 'Too many new tokens to check right now; send the report again later.' },
  auth_unavailable: { status: 503, message: 'The token cannot be checked right now (Kubernetes API unavailable); send the report again.' },
  auth_review_forbidden: { status: 503, message: 'The exporter may not check tokens (its service account lacks RBAC for reviews); send the report again.' },
  metrics_forbidden: { status: 403, message: 'The token may not get /metrics.' },
  store_unavailable: { status: 503, message: 'The report was not stored: the store is unavailable. Send it again.' },
  internal: { status: 500, message: 'Internal error; the exporter logged the details.' },
} as const satisfies Record<DecodeErrorCode | string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** Reasons a report can be rejected for: the values of the rejected counter's `reason` label. */
export const REJECT_REASONS = [
  'invalid_json',
  'invalid_encoding',
  'too_deep',
  'too_many_values',
  'not_an_object',
  'missing_field',
  'invalid_field',
  'invalid_agent_name',
  'interval_too_long',
  'body_too_large',
  'too_many_agents',
  'inflight_bodies_full',
  'unsupported_media_type',
  'request_aborted',
  'auth_missing',
  'auth_malformed',
  'auth_invalid',
  'auth_audience',
  'auth_not_service_account',
  'auth_not_bound',
  'auth_name_mismatch',
  'auth_node_mismatch',
  'auth_stale_pod',
  'auth_network_mismatch',
  'auth_listen_mismatch',
  'auth_pod_unknown',
  'auth_rate_limited',
  'auth_unavailable',
  'auth_review_forbidden',
  'store_unavailable',
] as const satisfies readonly ErrorCode[];
export type RejectReason = (typeof REJECT_REASONS)[number];

export function sendError(res: ServerResponse, code: ErrorCode, detail?: string, headers: Record<string, string> = {}): void {
  const { status, message } = ERRORS[code];
  sendJson(res, status, { error: code, message: detail ? `${message} ${detail}` : message }, headers);
}
