/**
 * GraphQL over HTTP at /graphql:
 *   POST  application/json {query, variables?, operationName?}   queries and mutations
 *   GET   ?query=…&variables=…&operationName=…                   queries only (405 for mutations)
 *   GET   with Accept: text/html and no query                    the explorer page
 * Results are `{data, errors}` JSON; request problems (bad JSON, parse or validation errors) answer
 * 400, missing or wrong credentials 401, an exceeded rate 429; execution errors answer 200 with
 * `errors[].extensions.code`.
 */
import { execute, type ExecutionResult, type GraphQLError, type GraphQLSchema } from 'graphql';
import { sendJson, sendText } from '../server/http-context.js';
import type { HttpContext, Router } from '../server/router.js';
import { authenticate, type GraphQLContext, type GraphQLDeps, type Principal } from './context/auth.js';
import { ErrorCode, formatError, gqlError } from './errors.js';
import { admitOperation, chooseOperation, isIntrospectionOnly, parseQuery, validateQuery, variablesOf } from './execution.js';
import { explorerHtml } from './explorer.js';
import type { OperationRateLimiter } from './limits.js';

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

export function registerGraphqlHttp(router: Router, schema: GraphQLSchema, deps: GraphQLDeps, limiter: OperationRateLimiter): void {
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

  const run = async (ctx: HttpContext, params: RequestParams, method: 'GET' | 'POST') => {
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

    let principal: Principal;
    const header = ctx.req.headers.authorization;
    if ((header === undefined || header.trim() === '') && isIntrospectionOnly(parsed.value, operation)) {
      principal = { kind: 'anonymous' };
    } else {
      try {
        principal = await authenticate(header, deps);
      } catch (err) {
        return refuse(ctx, [err as GraphQLError]);
      }
    }
    const errors = validateQuery(schema, parsed.value);
    if (errors.length > 0) return refuse(ctx, errors);
    const refusal = admitOperation(deps, principal, limiter);
    if (refusal) return refuse(ctx, [refusal]);

    const contextValue: GraphQLContext = { deps, principal };
    const result = await execute({ schema, document: parsed.value, variableValues: variables.value, operationName: operation.name?.value, contextValue });
    respond(ctx, 200, result);
  };

  router.add('POST', GRAPHQL_PATH, async (ctx) => {
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
    await run(ctx, { query, variables, operationName }, 'POST');
  });

  router.add('GET', GRAPHQL_PATH, async (ctx) => {
    const query = ctx.queryValue('query');
    const accept = String(ctx.req.headers.accept ?? '');
    if (query === undefined && accept.includes('text/html')) {
      ctx.res.setHeader('Content-Security-Policy', "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'");
      ctx.res.setHeader('X-Content-Type-Options', 'nosniff');
      return sendText(ctx.res, 200, explorerHtml(GRAPHQL_PATH), 'text/html; charset=utf-8');
    }
    await run(ctx, { query, variables: ctx.queryValue('variables'), operationName: ctx.queryValue('operationName') }, 'GET');
  });
}
