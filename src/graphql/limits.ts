/**
 * Bounds on GraphQL work: request size, query depth and cost (a validation rule), subscriptions per
 * socket, queued events per subscription, and the per-app request rate.
 */
import { TokenBuckets } from '../platform/token-buckets.js';
import type {
  ASTVisitor,
  DocumentNode,
  FragmentDefinitionNode,
  GraphQLError,
  GraphQLSchema,
  OperationDefinitionNode,
  SelectionSetNode,
  ValidationContext,
  ValidationRule,
} from 'graphql';
import type { App } from '../apps/app.js';
import { ErrorCode, gqlError } from './errors.js';
import { introspectionCost } from './introspection-cost.js';

export const GRAPHQL_LIMITS = {
  /** Longest query text accepted, in characters. */
  maxQueryLength: 100_000,
  /** Lexer tokens per document (graphql-js `parse` maxTokens): stops huge documents early. */
  maxTokens: 10_000,
  /** Deepest field nesting of an operation (a top-level field is depth 1). */
  maxDepth: 10,
  /** Introspection (__schema / __type) nests `ofType` deeply; it gets a little more room. */
  maxIntrospectionDepth: 15,
  /** Fields an operation may select, counted after expanding fragments (aliases count separately). */
  maxComplexity: 1000,
  /**
   * Upper bound on the values the introspection part of an answer may hold (see
   * introspection-cost.ts): a full `getIntrospectionQuery()` of this schema costs about 330 000;
   * repeated or nested walks past that are refused before any work.
   */
  maxIntrospectionCost: 400_000,
  /** Fields with one response name in one selection set (fragments expanded, aliases included). */
  maxRepeatedField: 20,
  /** GraphQL requests without credentials per client IP per second (bursts of one second's worth). */
  anonymousRequestsPerSecond: 2,
  /** Answers to introspection-only documents kept, keyed by the exact request. */
  introspectionCacheEntries: 16,
  /** Beams notifications one mutation may send (sendBeamsNotification fields, aliases included). */
  maxBeamsPublishesPerOperation: 10,
  /** Active subscriptions on one graphql-ws socket. */
  maxSubscriptionsPerSocket: 100,
  /** graphql-ws sockets on one node. */
  maxSockets: 10_000,
  /** Events waiting for a slow subscriber before its subscription is ended with an error. */
  maxQueuedEvents: 1000,
  /** Page size of paginated fields (`first`). */
  maxPageSize: 100,
} as const;

export interface QueryLimits {
  maxDepth: number;
  maxIntrospectionDepth: number;
  maxComplexity: number;
  maxIntrospectionCost: number;
  maxRepeatedField: number;
}

type FragmentLookup = (name: string) => FragmentDefinitionNode | undefined;

/**
 * The limits of every operation of a document, checked without graphql-js's `validate` (whose
 * visitor and type bookkeeping cost milliseconds on a large document): refuses operations that nest
 * deeper than `maxDepth`, select more than `maxComplexity` fields, select one response name more
 * than `maxRepeatedField` times in a selection set (the spec's overlapping-fields rule is quadratic
 * in those), or whose introspection answer could exceed `maxIntrospectionCost` values. Fragments
 * are expanded (so they cannot hide cost) and the walk itself is bounded: it stops as soon as the
 * budget is exceeded, so a "fragment bomb" costs little to refuse.
 */
export function queryLimitErrors(schema: GraphQLSchema, document: DocumentNode, limits: QueryLimits = GRAPHQL_LIMITS): GraphQLError[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === 'FragmentDefinition') fragments.set(d.name.value, d);
  const errors: GraphQLError[] = [];
  for (const d of document.definitions) {
    if (d.kind === 'OperationDefinition') errors.push(...operationLimitErrors(schema, d, (name) => fragments.get(name), limits));
  }
  return errors;
}

/** The same checks as a graphql-js validation rule. */
export function queryLimitsRule(limits: QueryLimits = GRAPHQL_LIMITS): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(operation) {
      for (const error of operationLimitErrors(context.getSchema(), operation, (name) => context.getFragment(name) ?? undefined, limits)) {
        context.reportError(error);
      }
    },
  });
}

function operationLimitErrors(schema: GraphQLSchema, operation: OperationDefinitionNode, fragment: FragmentLookup, limits: QueryLimits): GraphQLError[] {
  const state = { fields: 0, visits: 0, depth: 0, introspectionDepth: 0, overBudget: false, repeated: undefined as { name: string; count: number } | undefined };
  const visitBudget = limits.maxComplexity * 10;
  const active = new Set<string>();

  /** `names` counts response names across one selection set, its inline fragments and spreads. */
  const walk = (selectionSet: SelectionSetNode, depth: number, introspection: boolean, names: Map<string, number>): void => {
    for (const selection of selectionSet.selections) {
      if (state.overBudget) return;
      if (++state.visits > visitBudget) {
        state.overBudget = true;
        return;
      }
      if (selection.kind === 'Field') {
        if (++state.fields > limits.maxComplexity) {
          state.overBudget = true;
          return;
        }
        const responseName = selection.alias?.value ?? selection.name.value;
        const count = (names.get(responseName) ?? 0) + 1;
        names.set(responseName, count);
        if (count > limits.maxRepeatedField && !state.repeated) state.repeated = { name: responseName, count };
        const inIntrospection = introspection || selection.name.value === '__schema' || selection.name.value === '__type';
        if (inIntrospection) state.introspectionDepth = Math.max(state.introspectionDepth, depth);
        else state.depth = Math.max(state.depth, depth);
        // Deeper than any limit: no need to look further down this branch.
        if (depth > limits.maxIntrospectionDepth || (!inIntrospection && depth > limits.maxDepth)) continue;
        if (selection.selectionSet) walk(selection.selectionSet, depth + 1, inIntrospection, new Map());
      } else if (selection.kind === 'InlineFragment') {
        walk(selection.selectionSet, depth, introspection, names);
      } else {
        const name = selection.name.value;
        const definition = fragment(name);
        // Unknown fragments and cycles are reported by graphql-js's own rules.
        if (!definition || active.has(name)) continue;
        active.add(name);
        walk(definition.selectionSet, depth, introspection, names);
        active.delete(name);
      }
    }
  };
  walk(operation.selectionSet, 1, false, new Map());

  const errors: GraphQLError[] = [];
  if (state.overBudget) {
    errors.push(
      gqlError(ErrorCode.BadUserInput, `Query is too complex: it selects more than ${limits.maxComplexity} fields (fragments expanded)`, {
        limit: 'complexity',
        max: limits.maxComplexity,
      }),
    );
  }
  if (state.repeated) {
    errors.push(
      gqlError(
        ErrorCode.BadUserInput,
        `Field "${state.repeated.name.slice(0, 100)}" is selected more than ${limits.maxRepeatedField} times in one selection set (fragments expanded); the limit is ${limits.maxRepeatedField}`,
        { limit: 'repeatedField', max: limits.maxRepeatedField },
      ),
    );
  }
  if (state.depth > limits.maxDepth) {
    errors.push(
      gqlError(ErrorCode.BadUserInput, `Query is too deep: fields nest ${state.depth} levels; the limit is ${limits.maxDepth}`, {
        limit: 'depth',
        max: limits.maxDepth,
      }),
    );
  }
  if (state.introspectionDepth > limits.maxIntrospectionDepth) {
    errors.push(
      gqlError(ErrorCode.BadUserInput, `Introspection query is too deep: the limit is ${limits.maxIntrospectionDepth} levels`, {
        limit: 'depth',
        max: limits.maxIntrospectionDepth,
      }),
    );
  }
  // Only costed once the field walk is within budget, so this walk is bounded too.
  if (errors.length === 0) {
    const cost = introspectionCost(schema, operation, fragment, visitBudget);
    if (cost > limits.maxIntrospectionCost) {
      errors.push(
        gqlError(
          ErrorCode.BadUserInput,
          `Introspection answer too large: this query could return ${Number.isFinite(cost) ? cost : 'too many'} values; the limit is ${limits.maxIntrospectionCost} (one full introspection query fits)`,
          { limit: 'introspectionCost', max: limits.maxIntrospectionCost },
        ),
      );
    }
  }
  return errors;
}

/** Checks a `first` argument: a whole number from 1 to the page-size limit. */
export function pageSize(first: unknown, max: number = GRAPHQL_LIMITS.maxPageSize): number {
  const n = first === undefined || first === null ? max : first;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max) {
    throw gqlError(ErrorCode.BadUserInput, `first must be a whole number from 1 to ${max}`, { field: 'first' });
  }
  return n;
}

/** GraphQL operations draw on the same per-app budget as the REST API (one TokenBuckets). */
export class OperationRateLimiter {
  constructor(private readonly buckets: TokenBuckets = new TokenBuckets()) {}

  /** Takes `units` from the app's budget at once, or nothing (a whole operation is refused). */
  take(app: App, units = 1, now: number = Date.now()): boolean {
    return this.buckets.take(app.id, app.limits.apiRequestsPerSecond, now, units);
  }
}
