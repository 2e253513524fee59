// Sends an error of the table (exporter/errors.ts) as JSON: its code and message, never a stack trace.

import type { ServerResponse } from 'node:http';
import { ERRORS, type ErrorCode } from '../errors.js';
import { sendJson } from './respond.js';

export function sendError(res: ServerResponse, code: ErrorCode, detail?: string, headers: Record<string, string> = {}): void {
  const { status, message } = ERRORS[code];
  sendJson(res, status, { error: code, message: detail ? `${message} ${detail}` : message }, headers);
}
