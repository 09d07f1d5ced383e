/**
 * The HTTP edge of domain errors: the one place a kind becomes a status, a JSON body and headers.
 * Route handlers throw DomainError; the router's request handler (and the xhr forwarder) answer
 * with `sendError`. Beams keeps its own body format on top of `HTTP_STATUS` (beams/errors.ts).
 */
import type { Responder } from './router.js';
import type { DomainError, ErrorKind } from './errors.js';
import { sendJson } from './http-context.js';

export const HTTP_STATUS: Readonly<Record<ErrorKind, number>> = {
  invalid: 400,
  too_large: 413,
  unprocessable: 422,
  unauthorized: 401,
  // Pusher answers an over-quota publish with 403, and so do we.
  quota: 403,
  forbidden: 403,
  not_found: 404,
  not_allowed: 405,
  conflict: 409,
  rate_limited: 429,
  unavailable: 503,
};

export interface HttpErrorResponse {
  status: number;
  body: { error: string; code?: string };
  headers: Record<string, string>;
}

/** Status, Pusher-style body (`{error}`, plus `code` when the error has one) and headers for `err`. */
export function httpErrorResponse(err: DomainError): HttpErrorResponse {
  return { status: HTTP_STATUS[err.kind], body: err.code ? { error: err.message, code: err.code } : { error: err.message }, headers: errorHeaders(err) };
}

/** Rate limits are per second: one second is always long enough to wait. */
export function errorHeaders(err: DomainError): Record<string, string> {
  if (err.kind !== 'rate_limited') return {};
  if (err.limitPerSecond === undefined) return { 'Retry-After': '1' };
  return { 'Retry-After': '1', 'X-RateLimit-Limit': String(err.limitPerSecond), 'X-RateLimit-Remaining': '0' };
}

export function sendError(res: Responder, err: DomainError): void {
  const { status, body, headers } = httpErrorResponse(err);
  sendJson(res, status, body, headers);
}
