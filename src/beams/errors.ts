/**
 * Beams error responses. Both official SDKs need JSON `{error, description}` (spec F): the server SDK
 * rejects anything else with "Could not parse response body". Every Beams route is wrapped by
 * `beamsRoute`, which turns thrown errors — ours, the router's HttpError (e.g. 413) and unexpected
 * ones — into that shape.
 */
import type { Logger } from '../platform/logger.js';
import { HttpError, type HttpContext, type RouteHandler } from '../platform/router.js';
import { sendJson } from '../platform/http-context.js';

export class BeamsError extends Error {
  constructor(
    readonly status: number,
    /** Short title, e.g. "Bad request" (the `error` field). */
    readonly title: string,
    /** Human-readable detail (the `description` field). */
    readonly description: string,
  ) {
    super(`${title}: ${description}`);
    this.name = 'BeamsError';
  }
}

export const badRequest = (description: string) => new BeamsError(400, 'Bad request', description);
export const unprocessable = (description: string) => new BeamsError(422, 'Unprocessable Entity', description);
export const instanceNotFound = () => new BeamsError(404, 'Instance not found', 'Could not find the instance');
export const deviceNotFound = () => new BeamsError(404, 'Device not found', 'Could not find the device');

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Bad request',
  422: 'Unprocessable Entity',
  429: 'Rate Limited',
};

export function sendBeamsError(ctx: HttpContext, err: BeamsError): void {
  sendJson(ctx.res, err.status, { error: err.title, description: err.description });
}

/** Wraps a Beams handler so every failure answers `{error, description}`. */
export function beamsRoute(logger: Logger, handler: RouteHandler): RouteHandler {
  return async (ctx) => {
    try {
      await handler(ctx);
    } catch (err) {
      if (err instanceof BeamsError) return sendBeamsError(ctx, err);
      if (err instanceof HttpError) {
        // 413 from the shared body reader: Beams reports oversized bodies as 400 "Bad request".
        const status = err.status === 413 ? 400 : err.status;
        return sendBeamsError(ctx, new BeamsError(status, TITLES[err.status] ?? 'Error', err.message));
      }
      logger.error({ err, path: ctx.path }, 'Beams request failed');
      sendBeamsError(ctx, new BeamsError(500, 'Something went wrong', 'Internal server error'));
    }
  };
}

/** Reads a bounded JSON object body, checking the content type the way Beams does. */
export async function readJsonObject(ctx: HttpContext, maxBytes: number, sizeLabel: string): Promise<Record<string, unknown>> {
  const type = String(ctx.req.headers['content-type'] ?? '');
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new BeamsError(400, 'Invalid content type', 'Only application/json is supported');
  }
  const declared = Number(ctx.req.headers['content-length'] ?? 0);
  const tooLarge = badRequest(`Request body size is too large (max ${sizeLabel})`);
  if (declared > maxBytes) throw tooLarge;
  const body = await ctx.body();
  if (body.length > maxBytes) throw tooLarge;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw badRequest('Failed to read body as a JSON object');
  }
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
