// Every error the exporter answers, in one table: code (also the `reason` label of
// netchecker_reports_rejected_total), HTTP status, whether it refuses a report (so it is counted
// as rejected), and the message a user reads. api/errors.ts sends them; auth, metrics and the
// server read the table. Responses carry the code and message only, never a stack trace.

import type { DecodeErrorCode } from '../report/decode.js';

interface ErrorRow {
  readonly status: number;
  /** A report refused with this code is counted in netchecker_reports_rejected_total. */
  readonly rejects: boolean;
  readonly message: string;
}

export const ERRORS = {
  invalid_json: { status: 400, rejects: true, message: 'The body is not valid JSON.' },
  invalid_encoding: { status: 400, rejects: true, message: 'The body is not valid UTF-8.' },
  too_deep: { status: 400, rejects: true, message: 'The JSON is nested too deeply.' },
  too_many_values: { status: 400, rejects: true, message: 'The JSON has more array entries than any report holds.' },
  not_an_object: { status: 400, rejects: true, message: 'The report must be a JSON object.' },
  missing_field: { status: 400, rejects: true, message: 'A required field is missing.' },
  invalid_field: { status: 400, rejects: true, message: 'A field has the wrong type or is out of range.' },
  invalid_agent_name: {
    status: 400,
    rejects: true,
    message: 'The agent name must be a Kubernetes pod name: lowercase letters, digits, "-" and ".", at most 253 characters.',
  },
  interval_too_long: {
    status: 400,
    rejects: true,
    message: 'The report_interval is longer than the exporter accepts (--max-report-interval).',
  },
  invalid_query: { status: 400, rejects: false, message: 'This endpoint takes no query parameters.' },
  body_too_large: { status: 413, rejects: true, message: 'The body is larger than the exporter accepts (--max-body-bytes).' },
  too_many_agents: {
    status: 429,
    rejects: true,
    message: 'The exporter holds as many agents as it accepts (--max-agents); a new agent is taken once one is pruned.',
  },
  inflight_bodies_full: {
    status: 503,
    rejects: true,
    message: 'The exporter is receiving as many request bytes as it holds at once (--max-inflight-body-bytes); send the report again.',
  },
  unsupported_media_type: {
    status: 415,
    rejects: true,
    message: 'Reports must be sent as Content-Type: application/json (or text/plain, or with no type).',
  },
  request_aborted: { status: 400, rejects: true, message: 'The request body was not received completely.' },
  too_many_headers: { status: 431, rejects: false, message: 'The request has more than 100 header fields.' },
  repeated_authorization: { status: 400, rejects: false, message: 'The request has more than one Authorization header.' },
  too_many_responses: { status: 503, rejects: false, message: 'Too many large responses are being sent right now; try again shortly.' },
  not_found: { status: 404, rejects: false, message: 'No such endpoint.' },
  agent_not_found: { status: 404, rejects: false, message: 'No report is stored for this agent.' },
  method_not_allowed: { status: 405, rejects: false, message: 'This method is not allowed on this endpoint.' },
  not_ready: { status: 503, rejects: false, message: 'The exporter is not ready.' },
  // --auth and --metrics-auth (docs/security.md): 401 the token is missing or not valid for us,
  // 403 valid but not allowed this, 429/503 not checked now (the agent retries).
  auth_missing: { status: 401, rejects: true, message: 'This exporter requires a bearer token (Authorization: Bearer <token>).' },
  auth_malformed: { status: 401, rejects: true, message: 'The Authorization header is not a well-formed bearer token.' },
  auth_invalid: { status: 401, rejects: true, message: 'The token is not valid.' },
  auth_audience: { status: 401, rejects: true, message: 'The token is not meant for this exporter.' },
  auth_not_service_account: { status: 403, rejects: true, message: 'Only agent service accounts may send reports.' },
  auth_not_bound: { status: 403, rejects: true, message: 'The token must be bound to the agent pod.' },
  auth_name_mismatch: { status: 403, rejects: true, message: 'An agent may only report under its own pod name.' },
  auth_node_mismatch: { status: 403, rejects: true, message: "An agent may only report its own pod's node." },
  auth_stale_pod: { status: 403, rejects: true, message: 'The token belongs to a pod that no longer exists.' },
  auth_network_mismatch: { status: 403, rejects: true, message: "An agent may only report its own pod's network." },
  auth_listen_mismatch: {
    status: 403,
    rejects: true,
    message: "An agent may only advertise a listener on its own pod's IP (or in --peer-cidrs).",
  },
  auth_pod_unknown: { status: 503, rejects: true, message: 'The exporter does not know the pod yet.' },
  auth_rate_limited: { status: 429, rejects: true, message: 'Too many new tokens to check right now; send the report again later.' },
  auth_unavailable: {
    status: 503,
    rejects: true,
    message: 'The token cannot be checked right now (Kubernetes API unavailable); send the report again.',
  },
  auth_review_forbidden: {
    status: 503,
    rejects: true,
    message: 'The exporter may not check tokens (its service account lacks RBAC for reviews); send the report again.',
  },
  metrics_forbidden: { status: 403, rejects: false, message: 'The token may not get /metrics.' },
  store_unavailable: { status: 503, rejects: true, message: 'The report was not stored: the store is unavailable. Send it again.' },
  internal: { status: 500, rejects: false, message: 'Internal error; the exporter logged the details.' },
  // Every decoder code must have a row: `Record<DecodeErrorCode | string, ...>` is just
  // `Record<string, ...>` and checked nothing; the intersection requires each DecodeErrorCode key.
} as const satisfies Record<DecodeErrorCode, ErrorRow> & Record<string, ErrorRow>;

export type ErrorCode = keyof typeof ERRORS;

/** Codes that refuse a report: the values of the rejected counter's `reason` label, in table order. */
export type RejectReason = { [K in ErrorCode]: (typeof ERRORS)[K]['rejects'] extends true ? K : never }[ErrorCode];
export const REJECT_REASONS: readonly RejectReason[] = (Object.keys(ERRORS) as ErrorCode[]).filter(
  (c): c is RejectReason => ERRORS[c].rejects,
);
