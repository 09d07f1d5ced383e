/**
 * A small HTTP router: exact segments and `:param` captures; capabilities register their routes.
 * Handlers refuse by throwing DomainError (platform/errors.ts); http-errors.ts maps it to a response.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

/** The request as every route may read it: Node's IncomingMessage or the lean path's request. */
export interface RequestLike {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders;
  socket: { remoteAddress?: string };
}

/** The response as every route may write it: Node's ServerResponse or the lean path's response. */
export interface Responder {
  statusCode: number;
  readonly headersSent: boolean;
  setHeader(name: string, value: string | number): unknown;
  hasHeader(name: string): boolean;
  writeHead(status: number, headers?: Record<string, string | number>): { end(body?: string): unknown };
  end(body?: string): unknown;
}

/**
 * What a lean route (Router.addLean) uses: no streams, a body read whole. The Pusher HTTP API is
 * written against this, so it runs on the lean path (platform/http1) and on Node's alike.
 */
export interface ApiContext {
  req: RequestLike;
  res: Responder;
  method: string;
  /** Raw request path without the query string (as signed by Pusher clients). */
  path: string;
  /** Decoded path parameters. */
  params: Record<string, string>;
  /** Decoded query parameters in received order. */
  query: Array<[string, string]>;
  /** Reads the whole body (bounded by maxBodyBytes; a `too_large` DomainError beyond). Cached. */
  body(): Promise<Buffer>;
  /** Reads and JSON-parses the body; an `invalid` DomainError with a clear message when it is not JSON. */
  json<T = unknown>(): Promise<T>;
  /** The body JSON-parsed, synchronously: only once body() has resolved (authenticated API routes). */
  bodyJson<T = unknown>(): T;
  queryValue(name: string): string | undefined;
  /** Id of this request, also in logs and the X-Request-Id response header. */
  requestId: string;
}

/** The context of routes served by Node's HTTP server: its request and response objects. */
export interface HttpContext extends ApiContext {
  req: IncomingMessage;
  res: ServerResponse;
}

export type RouteHandler = (ctx: HttpContext) => unknown | Promise<unknown>;
export type ApiRouteHandler = (ctx: ApiContext) => unknown | Promise<unknown>;

/** A lean route's handler needs only ApiContext; the others get Node's request and response. */
type RouteKind = { lean: true; handler: ApiRouteHandler } | { lean: false; handler: RouteHandler };

type Route = RouteKind & {
  method: string;
  segments: string[];
  /** Metric label, e.g. `POST /apps/:appId/events`. */
  name: string;
};

export type RouteMatch = RouteKind & {
  params: Record<string, string>;
  name: string;
};

export class Router {
  private readonly routes: Route[] = [];
  /** Routes by their first literal segment, so a request only tries routes that can match. */
  private readonly byFirstSegment = new Map<string, Route[]>();
  /** Routes whose first segment is a parameter or wildcard: tried for every path. */
  private readonly anyFirstSegment: Route[] = [];

  add(method: string, pattern: string, handler: RouteHandler): this {
    return this.register(method, pattern, { lean: false, handler });
  }

  /**
   * A route whose handler needs only ApiContext (no streaming, no Node objects): plain HTTP/1.1
   * requests to it are served on the lean path (platform/http1), the rest by Node's server. On the
   * lean path `ctx.req.headers` holds only host, content-length, content-type, connection, origin,
   * x-request-id, authorization and user-agent (http1/head.ts): a route that reads another header
   * must be added with add().
   */
  addLean(method: string, pattern: string, handler: ApiRouteHandler): this {
    return this.register(method, pattern, { lean: true, handler });
  }

  private register(method: string, pattern: string, kind: RouteKind): this {
    const route: Route = { ...kind, method: method.toUpperCase(), segments: pattern.split('/').slice(1), name: `${method.toUpperCase()} ${pattern}` };
    this.routes.push(route);
    const first = route.segments[0] ?? '';
    if (first.startsWith(':') || first === '*') {
      this.anyFirstSegment.push(route);
      // Keep every bucket in registration order with the catch-all routes included.
      for (const bucket of this.byFirstSegment.values()) bucket.push(route);
    } else {
      let bucket = this.byFirstSegment.get(first);
      if (!bucket) this.byFirstSegment.set(first, (bucket = [...this.anyFirstSegment]));
      bucket.push(route);
    }
    return this;
  }

  /** A route match, 'method' when the path exists under another method, or undefined. */
  match(method: string, path: string): RouteMatch | 'method' | undefined {
    const parts = path.split('/').slice(1);
    let pathMatched = false;
    const candidates = this.byFirstSegment.get(parts[0] ?? '') ?? this.anyFirstSegment;
    for (const route of candidates) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) {
        pathMatched = true;
        continue;
      }
      return route.lean ? { lean: true, handler: route.handler, params, name: route.name } : { lean: false, handler: route.handler, params, name: route.name };
    }
    return pathMatched ? 'method' : undefined;
  }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  const last = pattern[pattern.length - 1];
  const rest = last === '*';
  if (rest ? parts.length < pattern.length - 1 : parts.length !== pattern.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p === '*') {
      params['*'] = parts.slice(i).join('/');
      break;
    }
    const part = parts[i]!;
    if (p.startsWith(':')) {
      if (part.length === 0) return undefined;
      if (part.indexOf('%') < 0) {
        // Nothing to decode (app ids, most channel names): skip decodeURIComponent's scan and copy.
        params[p.slice(1)] = part;
        continue;
      }
      try {
        params[p.slice(1)] = decodeURIComponent(part);
      } catch {
        return undefined;
      }
    } else if (p !== part) {
      return undefined;
    }
  }
  return params;
}
