/**
 * A small HTTP router: exact segments and `:param` captures; capabilities register their routes.
 * Handlers refuse by throwing DomainError (platform/errors.ts); http-errors.ts maps it to a response.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface HttpContext {
  req: IncomingMessage;
  res: ServerResponse;
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

export type RouteHandler = (ctx: HttpContext) => unknown | Promise<unknown>;

interface Route {
  method: string;
  segments: string[];
  handler: RouteHandler;
  /** Metric label, e.g. `POST /apps/:appId/events`. */
  name: string;
}

export interface RouteMatch {
  handler: RouteHandler;
  params: Record<string, string>;
  name: string;
}

export class Router {
  private readonly routes: Route[] = [];
  /** Routes by their first literal segment, so a request only tries routes that can match. */
  private readonly byFirstSegment = new Map<string, Route[]>();
  /** Routes whose first segment is a parameter or wildcard: tried for every path. */
  private readonly anyFirstSegment: Route[] = [];

  add(method: string, pattern: string, handler: RouteHandler): this {
    const route: Route = { method: method.toUpperCase(), segments: pattern.split('/').slice(1), handler, name: `${method.toUpperCase()} ${pattern}` };
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
      return { handler: route.handler, params, name: route.name };
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
