/**
 * Beams errors and the Beams HTTP edge. Both official SDKs need JSON `{error, description}` (spec
 * F): the server SDK rejects anything else with "Could not parse response body". Every Beams route
 * is wrapped by `beamsRoute`, which answers every thrown error — ours, the shared body reader's
 * (e.g. `too_large`) and unexpected ones — in that shape.
 */
import type { Logger } from '../platform/logger.js';
import type { HttpContext, RouteHandler } from '../platform/router.js';
import { sendJson } from '../platform/http-context.js';
import { DomainError, type ErrorKind } from '../platform/errors.js';
import { HTTP_STATUS, errorHeaders } from '../platform/http-errors.js';
import { JSON_DEPTH_MESSAGE, jsonTextTooDeep } from '../protocol/json-depth.js';

/** A domain error with the Beams title (the `error` field); the message is the `description`. */
export class BeamsError extends DomainError {
  constructor(kind: ErrorKind, title: string, description: string) {
    super(kind, description, { title });
    this.name = 'BeamsError';
  }

  /** Human-readable detail (the `description` field). */
  get description(): string {
    return this.message;
  }
}

export const badRequest = (description: string) => new BeamsError('invalid', 'Bad request', description);
export const unprocessable = (description: string) => new BeamsError('unprocessable', 'Unprocessable Entity', description);
export const instanceNotFound = () => new BeamsError('not_found', 'Instance not found', 'Could not find the instance');
export const deviceNotFound = () => new BeamsError('not_found', 'Device not found', 'Could not find the device');
/** Beams answers a request without an instance id in its path 400 (spec F.1), not 404. */
export const missingInstanceId = () => new BeamsError('invalid', 'Incomplete Request', '`instance-id` param is missing from path');

/** Titles for errors thrown without one (shared code: the body reader, quotas, the store). */
const TITLES: Partial<Record<ErrorKind, string>> = {
  invalid: 'Bad request',
  too_large: 'Bad request',
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  quota: 'Forbidden',
  not_found: 'Not Found',
  not_allowed: 'Method Not Allowed',
  unprocessable: 'Unprocessable Entity',
  rate_limited: 'Rate Limited',
};

/** Status and `{error, description}` body of a refusal; Beams reports oversized bodies as 400 "Bad request". */
export function beamsErrorResponse(err: DomainError): { status: number; body: { error: string; description: string } } {
  const status = err.kind === 'too_large' ? 400 : HTTP_STATUS[err.kind];
  return { status, body: { error: err.title ?? TITLES[err.kind] ?? 'Error', description: err.message } };
}

function sendBeamsError(ctx: HttpContext, err: DomainError): void {
  const { status, body } = beamsErrorResponse(err);
  sendJson(ctx.res, status, body, errorHeaders(err));
}

/** Wraps a Beams handler so every failure answers `{error, description}`. */
export function beamsRoute(logger: Logger, handler: RouteHandler): RouteHandler {
  return async (ctx) => {
    try {
      await handler(ctx);
    } catch (err) {
      if (err instanceof DomainError) return sendBeamsError(ctx, err);
      logger.error({ err, path: ctx.path }, 'Beams request failed');
      sendJson(ctx.res, 500, { error: 'Something went wrong', description: 'Internal server error' });
    }
  };
}

/** Reads a bounded JSON object body, checking the content type the way Beams does. */
export async function readJsonObject(ctx: HttpContext, maxBytes: number, sizeLabel: string): Promise<Record<string, unknown>> {
  const type = String(ctx.req.headers['content-type'] ?? '');
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new BeamsError('invalid', 'Invalid content type', 'Only application/json is supported');
  }
  const declared = Number(ctx.req.headers['content-length'] ?? 0);
  const tooLarge = badRequest(`Request body size is too large (max ${sizeLabel})`);
  if (declared > maxBytes) throw tooLarge;
  const body = await ctx.body();
  if (body.length > maxBytes) throw tooLarge;
  const text = body.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badRequest('Failed to read body as a JSON object');
  }
  // As for every other JSON body (docs/hardening.md): serializing a publish payload for its gateway,
  // or turning nested interest arrays into text, recursed until the stack overflowed (a 500).
  if (jsonTextTooDeep(text)) throw badRequest(JSON_DEPTH_MESSAGE);
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw badRequest('Failed to read body as a JSON object');
  return parsed as Record<string, unknown>;
}

/** The bearer credential of a request, or undefined when the header is absent. */
export function bearerToken(ctx: HttpContext): string | undefined {
  const header = ctx.req.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : '';
}
