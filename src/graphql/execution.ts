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
  type FieldNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { appLimitsSchema } from '../apps/app.js';
import type { GraphQLDeps, Principal } from './context/auth.js';
import { ErrorCode, gqlError } from './errors.js';
import { GRAPHQL_LIMITS, queryLimitErrors, type OperationRateLimiter } from './limits.js';

/** The batch limit for admin callers, who name the app per field: the default app limit. */
const DEFAULT_MAX_BATCH_SIZE = appLimitsSchema.parse({}).maxBatchSize;

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

/** Root fields of an operation, fragments expanded; aliases each count (`__typename` does not). */
export function rootFields(document: DocumentNode, operation: OperationDefinitionNode): FieldNode[] {
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === 'FragmentDefinition' ? [[d.name.value, d] as const] : [])));
  const fields: FieldNode[] = [];
  const seen = new Set<string>();
  const collect = (selections: OperationDefinitionNode['selectionSet']['selections']): void => {
    for (const s of selections) {
      if (s.kind === 'Field') {
        if (s.name.value !== '__typename') fields.push(s);
      } else if (s.kind === 'InlineFragment') {
        collect(s.selectionSet.selections);
      } else if (!seen.has(s.name.value)) {
        seen.add(s.name.value);
        const fragment = fragments.get(s.name.value);
        if (fragment) collect(fragment.selectionSet.selections);
      }
    }
  };
  collect(operation.selectionSet.selections);
  return fields;
}

/** Channels events a publishing mutation field sends: one, or the length of its `events` list. */
function channelEventsOf(field: FieldNode, variables: Record<string, unknown> | undefined): number {
  if (field.name.value === 'triggerEvent') return 1;
  if (field.name.value !== 'triggerBatchEvents') return 0;
  const events = field.arguments?.find((a) => a.name.value === 'events')?.value;
  if (events?.kind === 'ListValue') return events.values.length;
  if (events?.kind === 'Variable') {
    const value = variables?.[events.name.value];
    return Array.isArray(value) ? value.length : 1;
  }
  return 1;
}

/** What an operation costs against the per-app limits, read from its document before execution. */
export interface OperationCost {
  /** Units of the app's API rate: 1 for a query, one per root field for a mutation. */
  apiCalls: number;
  /** Channels events its mutation fields publish, and how many fields publish them. */
  channelEvents: number;
  publishingFields?: number;
  /** Beams notifications its mutation fields publish. */
  beamsPublishes: number;
}

export function operationCost(document: DocumentNode, operation: OperationDefinitionNode, variables?: Record<string, unknown>): OperationCost {
  if (operation.operation !== 'mutation') return { apiCalls: 1, channelEvents: 0, beamsPublishes: 0 };
  const fields = rootFields(document, operation);
  let channelEvents = 0;
  let publishingFields = 0;
  let beamsPublishes = 0;
  for (const field of fields) {
    const events = channelEventsOf(field, variables);
    channelEvents += events;
    if (events > 0) publishingFields++;
    if (field.name.value === 'sendBeamsNotification') beamsPublishes++;
  }
  return { apiCalls: Math.max(1, fields.length), channelEvents, publishingFields, beamsPublishes };
}

/**
 * Admits one operation. Any caller: a mutation may publish at most `limits.maxBatchSize` Channels
 * events (the app's, or the default for admin callers, who name the app per field) and
 * GRAPHQL_LIMITS.maxBeamsPublishesPerOperation Beams notifications: the REST API's batch limit,
 * whatever aliases or fragments the document uses. App callers: each mutation field draws one unit
 * of the app's API request rate (RATE_LIMITED, refused whole, before any field runs) and counts as
 * an API call in usage stats, as the same calls over REST would.
 */
export function admitOperation(
  deps: GraphQLDeps,
  principal: Principal,
  limiter: OperationRateLimiter,
  cost: OperationCost = { apiCalls: 1, channelEvents: 0, beamsPublishes: 0 },
): GraphQLError | undefined {
  const app = principal.kind === 'app' ? deps.apps.byId(principal.appId) : undefined;
  if (principal.kind === 'app' && !app) return gqlError(ErrorCode.Unauthenticated, 'This app no longer exists');
  const maxEvents = app?.limits.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
  if (cost.channelEvents > maxEvents) {
    // One batch field alone gets the REST API's message.
    const message =
      cost.publishingFields === 1
        ? `Batch too large: ${cost.channelEvents} events (limit ${maxEvents})`
        : `Too many events in one operation: ${cost.channelEvents} (limit ${maxEvents}, the HTTP API's batch limit; aliases and batch items count)`;
    return gqlError(ErrorCode.BadUserInput, message, { limit: 'eventsPerOperation', max: maxEvents });
  }
  if (cost.beamsPublishes > GRAPHQL_LIMITS.maxBeamsPublishesPerOperation) {
    return gqlError(
      ErrorCode.BadUserInput,
      `Too many Beams notifications in one operation: ${cost.beamsPublishes} (limit ${GRAPHQL_LIMITS.maxBeamsPublishesPerOperation})`,
      { limit: 'publishesPerOperation', max: GRAPHQL_LIMITS.maxBeamsPublishesPerOperation },
    );
  }
  if (!app) return undefined;
  if (!app.enabled) return gqlError(ErrorCode.Forbidden, 'Application disabled');
  if (!limiter.take(app, cost.apiCalls)) {
    const perSecond = app.limits.apiRequestsPerSecond;
    const detail = cost.apiCalls > 1 ? `; this operation counts as ${cost.apiCalls} (one per mutation field)` : '';
    return gqlError(ErrorCode.RateLimited, `Too many requests: this app is limited to ${perSecond} API requests per second${detail}`);
  }
  for (let i = 0; i < cost.apiCalls; i++) {
    for (const hook of deps.hooks.apiCall) {
      try {
        hook(app, 'graphql');
      } catch (err) {
        deps.logger.warn({ err: (err as Error).message }, 'apiCall hook failed');
      }
    }
  }
  return undefined;
}
