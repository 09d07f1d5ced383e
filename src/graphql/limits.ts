/**
 * Bounds on GraphQL work: request size, query depth and cost (a validation rule), subscriptions per
 * socket, queued events per subscription, and the per-app request rate.
 */
import { TokenBuckets } from '../server/token-buckets.js';
import type { ASTVisitor, SelectionSetNode, ValidationContext, ValidationRule } from 'graphql';
import type { App } from '../apps/app.js';
import { ErrorCode, gqlError } from './errors.js';

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
}

/**
 * Validation rule refusing operations that nest deeper than `maxDepth` or select more than
 * `maxComplexity` fields. Fragments are expanded (so they cannot hide cost) and the walk itself is
 * bounded: it stops as soon as the budget is exceeded, so a "fragment bomb" costs little to refuse.
 */
export function queryLimitsRule(limits: QueryLimits = GRAPHQL_LIMITS): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(operation) {
      const state = { fields: 0, visits: 0, depth: 0, introspectionDepth: 0, overBudget: false };
      const visitBudget = limits.maxComplexity * 10;
      const active = new Set<string>();

      const walk = (selectionSet: SelectionSetNode, depth: number, introspection: boolean): void => {
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
            const inIntrospection = introspection || selection.name.value === '__schema' || selection.name.value === '__type';
            if (inIntrospection) state.introspectionDepth = Math.max(state.introspectionDepth, depth);
            else state.depth = Math.max(state.depth, depth);
            // Deeper than any limit: no need to look further down this branch.
            if (depth > limits.maxIntrospectionDepth || (!inIntrospection && depth > limits.maxDepth)) continue;
            if (selection.selectionSet) walk(selection.selectionSet, depth + 1, inIntrospection);
          } else if (selection.kind === 'InlineFragment') {
            walk(selection.selectionSet, depth, introspection);
          } else {
            const name = selection.name.value;
            const fragment = context.getFragment(name);
            // Unknown fragments and cycles are reported by graphql-js's own rules.
            if (!fragment || active.has(name)) continue;
            active.add(name);
            walk(fragment.selectionSet, depth, introspection);
            active.delete(name);
          }
        }
      };
      walk(operation.selectionSet, 1, false);

      if (state.overBudget) {
        context.reportError(
          gqlError(ErrorCode.BadUserInput, `Query is too complex: it selects more than ${limits.maxComplexity} fields (fragments expanded)`, {
            limit: 'complexity',
            max: limits.maxComplexity,
          }),
        );
      }
      if (state.depth > limits.maxDepth) {
        context.reportError(
          gqlError(ErrorCode.BadUserInput, `Query is too deep: fields nest ${state.depth} levels; the limit is ${limits.maxDepth}`, {
            limit: 'depth',
            max: limits.maxDepth,
          }),
        );
      }
      if (state.introspectionDepth > limits.maxIntrospectionDepth) {
        context.reportError(
          gqlError(ErrorCode.BadUserInput, `Introspection query is too deep: the limit is ${limits.maxIntrospectionDepth} levels`, {
            limit: 'depth',
            max: limits.maxIntrospectionDepth,
          }),
        );
      }
    },
  });
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

  take(app: App, now: number = Date.now()): boolean {
    return this.buckets.take(app.id, app.limits.apiRequestsPerSecond, now);
  }
}
