/**
 * One request through the router, whichever server parsed it: Node's (handleHttp) or the lean
 * path's (handleLean, platform/http1). Both end in the same handler call, error responder and
 * end-of-request hooks, so a route behaves the same on either.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HeraldHooks } from '../core/module.js';
import { createContext, createLeanContext, sendJson } from '../platform/http-context.js';
import { sendError } from '../platform/http-errors.js';
import type { Logger } from '../platform/logger.js';
import { DomainError, notFound } from '../platform/errors.js';
import type { ApiContext, HttpContext, RequestLike, Responder, RouteMatch, Router } from '../platform/router.js';

const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type, Authorization, X-Pusher-Library, X-Request-Id',
  'Access-Control-Max-Age': '600',
};
const CORS_ENTRIES = Object.entries(CORS_HEADERS);

/** What the end of every request needs. */
export interface DispatchDeps {
  logger: Logger;
  hooks: HeraldHooks;
}

/**
 * Routes one request Node's server parsed. Not an async function: a handler that answers
 * synchronously (or whose promise is already settled) finishes without the extra promise turns an
 * `await` and an async wrapper cost on every API call; errors of either kind go through the same
 * responder.
 */
export function handleHttp(req: IncomingMessage, res: ServerResponse, router: Router, maxBodyBytes: number, deps: DispatchDeps): void {
  const started = performance.now();
  addCors(req, res);
  let ctx: HttpContext | undefined;
  let match: RouteMatch | 'method' | undefined;
  try {
    ctx = createContext(req, res, maxBodyBytes);
    res.setHeader('X-Request-Id', ctx.requestId);
    if (ctx.method === 'OPTIONS') {
      res.writeHead(204).end();
      return finishHttp(req, res, 'unmatched', ctx.requestId, started, deps);
    }
    match = router.match(ctx.method, ctx.path);
    if (match === 'method') throw new DomainError('not_allowed', `Method ${ctx.method} not allowed on ${ctx.path}`);
    if (!match) throw notFound(`Not found: ${ctx.method} ${ctx.path.slice(0, 200)}`);
  } catch (err) {
    respondWithError(err, req, res, ctx?.requestId, deps.logger);
    return finishHttp(req, res, 'unmatched', ctx?.requestId, started, deps);
  }
  ctx.params = match.params;
  runRoute(ctx, match, started, deps);
}

/** Serves a request of the lean path, already routed to a lean route. */
export function handleLean(match: RouteMatch & { lean: true }, req: RequestLike, res: Responder, body: Buffer, deps: DispatchDeps): void {
  const started = performance.now();
  addCors(req, res);
  let ctx: ApiContext;
  try {
    ctx = createLeanContext(req, res, body);
  } catch (err) {
    // As on Node's path, a request whose context cannot be built (its query) is 'unmatched'.
    respondWithError(err, req, res, undefined, deps.logger);
    return finishHttp(req, res, 'unmatched', undefined, started, deps);
  }
  res.setHeader('X-Request-Id', ctx.requestId);
  ctx.params = match.params;
  runRoute(ctx, match, started, deps);
}

// CORS headers matter only to browsers, which always send Origin on cross-origin requests and
// preflights; server-to-server API calls (the SDKs) skip the header work.
function addCors(req: RequestLike, res: Responder): void {
  if (req.headers.origin !== undefined) for (const [k, v] of CORS_ENTRIES) res.setHeader(k, v);
}

/** Calls the handler and answers for it: 204 when it wrote nothing, the error responder when it threw. */
function runRoute(ctx: ApiContext, match: RouteMatch, started: number, deps: DispatchDeps): void {
  const { req, res, requestId } = ctx;
  let pending: unknown;
  try {
    // A Node route only ever gets here with Node's context (handleLean takes lean routes only).
    pending = match.lean ? match.handler(ctx) : match.handler(ctx as HttpContext);
  } catch (err) {
    respondWithError(err, req, res, requestId, deps.logger);
    return finishHttp(req, res, match.name, requestId, started, deps);
  }
  // Any thenable, as `await` would (handlers return promises or plain values).
  if (isThenable(pending)) {
    pending.then(
      () => {
        if (!res.headersSent) res.writeHead(204).end();
        finishHttp(req, res, match.name, requestId, started, deps);
      },
      (err: unknown) => {
        respondWithError(err, req, res, requestId, deps.logger);
        finishHttp(req, res, match.name, requestId, started, deps);
      },
    );
    return;
  }
  if (!res.headersSent) res.writeHead(204).end();
  finishHttp(req, res, match.name, requestId, started, deps);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value instanceof Promise || (typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function');
}

function respondWithError(err: unknown, req: RequestLike, res: Responder, requestId: string | undefined, logger: Logger): void {
  if (err instanceof DomainError) {
    sendError(res, err);
  } else {
    logger.error({ err, reqId: requestId, url: req.url?.split('?')[0] }, 'HTTP handler failed');
    sendJson(res, 500, { error: 'Internal server error' });
  }
}

/** Access log (debug) and the httpRequest hooks (metrics), once per request whatever its outcome. */
function finishHttp(req: RequestLike, res: Responder, routeName: string, requestId: string | undefined, started: number, deps: DispatchDeps): void {
  const { logger, hooks } = deps;
  const ms = performance.now() - started;
  // Access log: path only (query strings carry auth signatures), and only when debug is on.
  if (logger.isLevelEnabled('debug')) {
    logger.debug(
      { reqId: requestId, method: req.method, path: req.url?.split('?')[0]?.slice(0, 200), route: routeName, status: res.statusCode, ms: Math.round(ms * 10) / 10, remote: req.socket.remoteAddress },
      'http request',
    );
  }
  for (const hook of hooks.httpRequest) {
    try {
      hook(req.method ?? 'GET', routeName, res.statusCode, ms);
    } catch {
      /* metrics must not break requests */
    }
  }
}
