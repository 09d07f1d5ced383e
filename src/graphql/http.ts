/**
 * GraphQL over HTTP at /graphql:
 *   POST  application/json {query, variables?, operationName?}   queries and mutations
 *   GET   ?query=…&variables=…&operationName=…                   queries only (405 for mutations)
 *   GET   with Accept: text/html and no query                    the explorer page
 * Results are `{data, errors}` JSON; request problems (bad JSON, parse or validation errors) answer
 * 400, missing or wrong credentials 401, an exceeded rate 429; execution errors answer 200 with
 * `errors[].extensions.code`.
 *
 * Requests without credentials (introspection only) are rate-limited per client address, and the
 * answers to introspection-only documents are cached by exact request: the schema never changes
 * while the process runs, so an explorer or codegen tool asking again costs nothing.
 */
import { execute, type ExecutionResult, type GraphQLError, type GraphQLSchema } from 'graphql';
import { sendJson, sendText } from '../platform/http-context.js';
import type { HttpContext, Router } from '../platform/router.js';
import { authenticate, CREDENTIALS_HELP, unauthenticated, type GraphQLContext, type GraphQLDeps, type Principal } from './context/auth.js';
import { ErrorCode, formatError, gqlError } from './errors.js';
import { admitOperation, chooseOperation, operationCost, isIntrospectionOnly, parseQuery, validateQuery, variablesOf } from './execution.js';
import { explorerHtml } from './explorer.js';
import { GRAPHQL_LIMITS, type OperationRateLimiter } from './limits.js';
import { TokenBuckets } from '../platform/token-buckets.js';

export const GRAPHQL_PATH = '/graphql';

interface RequestParams {
  query: unknown;
  variables: unknown;
  operationName: unknown;
}

const STATUS_BY_CODE: Partial<Record<string, number>> = {
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.RateLimited]: 429,
};

/** Small LRU of serialized answers to introspection-only requests. */
class IntrospectionCache {
  private readonly entries = new Map<string, string>();
  constructor(private readonly size: number) {}

  get(key: string): string | undefined {
    const text = this.entries.get(key);
    if (text !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, text);
    }
    return text;
  }

  set(key: string, text: string): void {
    this.entries.set(key, text);
    if (this.entries.size > this.size) this.entries.delete(this.entries.keys().next().value!);
  }
}

function sendSerialized(ctx: HttpContext, text: string): void {
  if (ctx.res.headersSent) return;
  ctx.res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  ctx.res.end(text);
}

function hasCredentials(ctx: HttpContext): boolean {
  const header = ctx.req.headers.authorization;
  return header !== undefined && header.trim() !== '';
}

export function registerGraphqlHttp(router: Router, schema: GraphQLSchema, deps: GraphQLDeps, limiter: OperationRateLimiter): void {
  const anonymousBuckets = new TokenBuckets(10_000);
  const cache = new IntrospectionCache(GRAPHQL_LIMITS.introspectionCacheEntries);
  /** Refuses a request without credentials over the per-address rate, before any parsing. */
  const admitAnonymous = (ctx: HttpContext): boolean => {
    if (hasCredentials(ctx)) return true;
    const address = ctx.req.socket.remoteAddress ?? 'unknown';
    if (anonymousBuckets.take(address, GRAPHQL_LIMITS.anonymousRequestsPerSecond)) return true;
    refuse(ctx, [
      gqlError(
        ErrorCode.RateLimited,
        `Too many requests without credentials from this address (limit ${GRAPHQL_LIMITS.anonymousRequestsPerSecond} per second); authenticate to lift it`,
      ),
    ]);
    return false;
  };
  const respond = (ctx: HttpContext, status: number, result: ExecutionResult) => {
    const body: Record<string, unknown> = {};
    if (result.errors?.length) body.errors = result.errors.map((e) => formatError(e, (err) => deps.logger.error({ err }, 'GraphQL resolver failed')));
    if ('data' in result) body.data = result.data;
    const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
    // A Bearer challenge only: a Basic one would make browsers (the explorer) pop up a login dialog.
    // Basic credentials are still accepted, sent up front as every client does.
    if (status === 401) headers['WWW-Authenticate'] = 'Bearer realm="herald-graphql"';
    if (status === 429) headers['Retry-After'] = '1';
    sendJson(ctx.res, status, body, headers);
  };
  const refuse = (ctx: HttpContext, errors: readonly GraphQLError[]) => {
    const code = errors[0]?.extensions?.code as string | undefined;
    respond(ctx, (code && STATUS_BY_CODE[code]) || 400, { errors });
  };

  /**
   * A request with credentials is authenticated before its body is read or its query parsed: a
   * wrong Authorization header must not buy a megabyte of JSON and a 10 000-token parse (tens of
   * milliseconds) past the rate limit for requests without credentials. Undefined: no credentials;
   * null: refused (answered).
   */
  const authenticated = async (ctx: HttpContext): Promise<Principal | undefined | null> => {
    if (!hasCredentials(ctx)) return undefined;
    try {
      return await authenticate(ctx.req.headers.authorization, deps);
    } catch (err) {
      refuse(ctx, [err as GraphQLError]);
      return null;
    }
  };

  /** `authenticatedAs`: the caller, already authenticated, when the request has credentials. */
  const run = async (ctx: HttpContext, params: RequestParams, method: 'GET' | 'POST', authenticatedAs: Principal | undefined) => {
    const cacheKey = !hasCredentials(ctx) && typeof params.query === 'string' ? JSON.stringify([params.query, params.operationName ?? null, params.variables ?? null]) : undefined;
    const cached = cacheKey === undefined ? undefined : cache.get(cacheKey);
    if (cached !== undefined) return sendSerialized(ctx, cached);
    const parsed = parseQuery(params.query);
    if (!parsed.ok) return refuse(ctx, parsed.errors);
    const chosen = chooseOperation(parsed.value, params.operationName);
    if (!chosen.ok) return refuse(ctx, chosen.errors);
    const operation = chosen.value;
    if (method === 'GET' && operation.operation !== 'query') {
      ctx.res.setHeader('Allow', 'POST');
      return respond(ctx, 405, { errors: [gqlError(ErrorCode.BadUserInput, `${operation.operation}s must be sent with POST`)] });
    }
    if (operation.operation === 'subscription') {
      return refuse(ctx, [gqlError(ErrorCode.BadUserInput, `Subscriptions run over WebSocket (graphql-ws protocol) at ${GRAPHQL_PATH}`)]);
    }
    const variables = variablesOf(params.variables);
    if (!variables.ok) return refuse(ctx, variables.errors);

    const introspectionOnly = isIntrospectionOnly(parsed.value, operation);
    let principal: Principal;
    if (authenticatedAs) principal = authenticatedAs;
    else if (introspectionOnly) principal = { kind: 'anonymous' };
    else return refuse(ctx, [unauthenticated(`Authentication required: ${CREDENTIALS_HELP}`)]);
    const errors = validateQuery(schema, parsed.value);
    if (errors.length > 0) return refuse(ctx, errors);
    const refusal = admitOperation(deps, principal, limiter, operationCost(parsed.value, operation, variables.value));
    if (refusal) return refuse(ctx, [refusal]);

    const contextValue: GraphQLContext = { deps, principal };
    const result = await execute({ schema, document: parsed.value, variableValues: variables.value, operationName: operation.name?.value, contextValue });
    if (introspectionOnly && cacheKey !== undefined && !result.errors?.length) {
      const text = JSON.stringify({ data: result.data });
      cache.set(cacheKey, text);
      return sendSerialized(ctx, text);
    }
    respond(ctx, 200, result);
  };

  router.add('POST', GRAPHQL_PATH, async (ctx) => {
    if (!admitAnonymous(ctx)) return;
    const principal = await authenticated(ctx);
    if (principal === null) return;
    const type = String(ctx.req.headers['content-type'] ?? '');
    if (!/^application\/(graphql-response\+)?json\s*(;|$)/i.test(type)) {
      return refuse(ctx, [gqlError(ErrorCode.BadUserInput, 'Send the request as Content-Type: application/json {"query": "…", "variables": {…}}')]);
    }
    let body: unknown;
    try {
      body = await ctx.json<unknown>();
    } catch (err) {
      return refuse(ctx, [gqlError(ErrorCode.BadUserInput, (err as Error).message)]);
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return refuse(ctx, [gqlError(ErrorCode.BadUserInput, 'The body must be one JSON object {query, variables?, operationName?} (batches are not supported)')]);
    }
    const { query, variables, operationName } = body as Record<string, unknown>;
    await run(ctx, { query, variables, operationName }, 'POST', principal);
  });

  router.add('GET', GRAPHQL_PATH, async (ctx) => {
    const query = ctx.queryValue('query');
    const accept = String(ctx.req.headers.accept ?? '');
    if (query === undefined && accept.includes('text/html')) {
      ctx.res.setHeader('Content-Security-Policy', "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'");
      ctx.res.setHeader('X-Content-Type-Options', 'nosniff');
      return sendText(ctx.res, 200, explorerHtml(GRAPHQL_PATH), 'text/html; charset=utf-8');
    }
    if (!admitAnonymous(ctx)) return;
    const principal = await authenticated(ctx);
    if (principal === null) return;
    await run(ctx, { query, variables: ctx.queryValue('variables'), operationName: ctx.queryValue('operationName') }, 'GET', principal);
  });
}
