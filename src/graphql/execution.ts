/**
 * The steps every GraphQL operation takes, over HTTP or graphql-ws: bounded parse, validation with
 * the depth/complexity rule, choosing the operation, and per-app admission (rate limit, API-call
 * accounting through `hooks.apiCall`, as the REST API counts its calls).
 */
import {
  getOperationAST,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { GraphQLDeps, Principal } from './context/auth.js';
import { ErrorCode, gqlError } from './errors.js';
import { GRAPHQL_LIMITS, queryLimitErrors, type OperationRateLimiter } from './limits.js';

export type Outcome<T> = { ok: true; value: T } | { ok: false; errors: GraphQLError[] };


/** Parses a query text within the size and token limits. */
export function parseQuery(query: unknown): Outcome<DocumentNode> {
  if (typeof query !== 'string' || query.trim() === '') {
    return { ok: false, errors: [gqlError(ErrorCode.BadUserInput, 'A GraphQL query is required (the "query" parameter)')] };
  }
  if (query.length > GRAPHQL_LIMITS.maxQueryLength) {
    return { ok: false, errors: [gqlError(ErrorCode.BadUserInput, `Query too long: ${query.length} characters (limit ${GRAPHQL_LIMITS.maxQueryLength})`)] };
  }
  try {
    return { ok: true, value: parse(query, { maxTokens: GRAPHQL_LIMITS.maxTokens }) };
  } catch (err) {
    const error = err instanceof GraphQLError ? err : new GraphQLError(String(err));
    return { ok: false, errors: [new GraphQLError(error.message, { source: error.source, positions: error.positions, extensions: { code: ErrorCode.GraphqlParseFailed } })] };
  }
}

/** Validates against the limits rule, then the schema; spec violations get GRAPHQL_VALIDATION_FAILED. */
export function validateQuery(schema: GraphQLSchema, document: DocumentNode): GraphQLError[] {
  // The limits first, alone: some spec rules (overlapping fields) cost time quadratic in the
  // number of fields, so a document over the limits is refused before they run.
  const overLimits = queryLimitErrors(schema, document);
  if (overLimits.length > 0) return overLimits;
  // maxErrors bounds the work on documents full of mistakes.
  return validate(schema, document, specifiedRules, { maxErrors: 20 }).map((error) =>
    error.extensions?.code
      ? error
      : new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions: { code: ErrorCode.GraphqlValidationFailed } }),
  );
}

export function chooseOperation(document: DocumentNode, operationName: unknown): Outcome<OperationDefinitionNode> {
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') {
    return { ok: false, errors: [gqlError(ErrorCode.BadUserInput, 'operationName must be a string')] };
  }
  const operation = getOperationAST(document, operationName ?? undefined);
  if (!operation) {
    const message = operationName ? `Unknown operation "${String(operationName).slice(0, 100)}"` : 'The document has several operations: pass operationName';
    return { ok: false, errors: [gqlError(ErrorCode.BadUserInput, message)] };
  }
  return { ok: true, value: operation };
}

/** True when every root field is introspection (__schema, __type, __typename): allowed without credentials. */
export function isIntrospectionOnly(document: DocumentNode, operation: OperationDefinitionNode): boolean {
  if (operation.operation !== 'query') return false;
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === 'FragmentDefinition' ? [[d.name.value, d] as const] : [])));
  const seen = new Set<string>();
  const check = (selections: OperationDefinitionNode['selectionSet']['selections']): boolean =>
    selections.every((s) => {
      if (s.kind === 'Field') return s.name.value.startsWith('__');
      if (s.kind === 'InlineFragment') return check(s.selectionSet.selections);
      const fragment = fragments.get(s.name.value);
      if (!fragment || seen.has(s.name.value)) return false;
      seen.add(s.name.value);
      return check(fragment.selectionSet.selections);
    });
  return check(operation.selectionSet.selections);
}

export function variablesOf(raw: unknown): Outcome<Record<string, unknown> | undefined> {
  if (raw === undefined || raw === null || raw === '') return { ok: true, value: undefined };
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return { ok: false, errors: [gqlError(ErrorCode.BadUserInput, 'variables must be a JSON object')] };
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, errors: [gqlError(ErrorCode.BadUserInput, 'variables must be a JSON object')] };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/**
 * Admits one operation of an app caller: refuses over the app's API request rate (RATE_LIMITED) and
 * counts it as an API call for usage stats. Admin and Beams callers are not app API calls.
 */
export function admitOperation(deps: GraphQLDeps, principal: Principal, limiter: OperationRateLimiter): GraphQLError | undefined {
  if (principal.kind !== 'app') return undefined;
  const app = deps.apps.byId(principal.appId);
  if (!app) return gqlError(ErrorCode.Unauthenticated, 'This app no longer exists');
  if (!app.enabled) return gqlError(ErrorCode.Forbidden, 'Application disabled');
  if (!limiter.take(app)) {
    return gqlError(ErrorCode.RateLimited, `Too many requests: this app is limited to ${app.limits.apiRequestsPerSecond} API requests per second`);
  }
  for (const hook of deps.hooks.apiCall) {
    try {
      hook(app, 'graphql');
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, 'apiCall hook failed');
    }
  }
  return undefined;
}
