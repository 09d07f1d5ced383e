/**
 * GraphQL errors with `extensions.code`, and the GraphQL edge of domain errors: the one place a
 * DomainError thrown by a shared service (event validation, quotas, the store, Beams) becomes a
 * GraphQL error, so a rule refused through GraphQL reads the same as through REST.
 */
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { DomainError, type ErrorKind } from '../platform/errors.js';
import { HTTP_STATUS } from '../platform/http-errors.js';

export const ErrorCode = {
  Unauthenticated: 'UNAUTHENTICATED',
  Forbidden: 'FORBIDDEN',
  BadUserInput: 'BAD_USER_INPUT',
  NotFound: 'NOT_FOUND',
  RateLimited: 'RATE_LIMITED',
  QuotaExceeded: 'QUOTA_EXCEEDED',
  NotAvailable: 'NOT_AVAILABLE',
  Internal: 'INTERNAL',
  /** Request-level problems found before execution (parse errors, query too deep or too costly). */
  GraphqlValidationFailed: 'GRAPHQL_VALIDATION_FAILED',
  GraphqlParseFailed: 'GRAPHQL_PARSE_FAILED',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export function gqlError(code: ErrorCodeValue, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra } });
}

export const badInput = (message: string, field?: string) => gqlError(ErrorCode.BadUserInput, message, field ? { field } : {});
export const notFound = (message: string) => gqlError(ErrorCode.NotFound, message);
export const forbidden = (message: string) => gqlError(ErrorCode.Forbidden, message);
export const notAvailable = (message: string) => gqlError(ErrorCode.NotAvailable, message);

export const GRAPHQL_CODE: Readonly<Record<ErrorKind, ErrorCodeValue>> = {
  invalid: ErrorCode.BadUserInput,
  too_large: ErrorCode.BadUserInput,
  unprocessable: ErrorCode.BadUserInput,
  not_allowed: ErrorCode.BadUserInput,
  // An id already taken or a read-only store: the caller has to change the request.
  conflict: ErrorCode.BadUserInput,
  unauthorized: ErrorCode.Unauthenticated,
  forbidden: ErrorCode.Forbidden,
  not_found: ErrorCode.NotFound,
  quota: ErrorCode.QuotaExceeded,
  rate_limited: ErrorCode.RateLimited,
  unavailable: ErrorCode.NotAvailable,
};

/**
 * A domain error as a GraphQL error: same message, `extensions.code` by kind, and the status the
 * REST API would answer (`extensions.status`; Beams errors also keep their `title`).
 */
export function domainGraphQLError(err: DomainError): GraphQLError {
  const extra: Record<string, unknown> = { status: HTTP_STATUS[err.kind] };
  if (err.title !== undefined) extra.title = err.title;
  return gqlError(GRAPHQL_CODE[err.kind], err.message, extra);
}

/** Converts what a shared service threw into a GraphQLError; unknown errors become INTERNAL. */
export function toGraphQLError(err: unknown): GraphQLError {
  if (err instanceof GraphQLError) {
    // Errors raised in resolvers arrive wrapped (with path/locations); keep their own code.
    const original = err.originalError;
    if (original && !(original instanceof GraphQLError)) return toGraphQLError(original);
    return err;
  }
  if (err instanceof DomainError) return domainGraphQLError(err);
  return gqlError(ErrorCode.Internal, 'Internal server error');
}

/**
 * Final shape of every error sent to clients: resolver errors keep their message and code; anything
 * unexpected is reported as INTERNAL without details (they are logged instead).
 */
export function formatError(error: GraphQLError, log: (err: unknown) => void): GraphQLFormattedError {
  const original = error.originalError;
  let code = error.extensions?.code as string | undefined;
  let message = error.message;
  let extensions: Record<string, unknown> = { ...error.extensions };
  if (original && !(original instanceof GraphQLError)) {
    const translated = toGraphQLError(original);
    code = translated.extensions.code as string;
    message = translated.message;
    extensions = { ...translated.extensions };
    if (code === ErrorCode.Internal) log(original);
  } else if (original instanceof GraphQLError) {
    code = (original.extensions?.code as string | undefined) ?? code;
    extensions = { ...original.extensions, ...extensions, code };
  }
  if (code === undefined) {
    // graphql-js's own errors carry no code: during execution (with a path) they are our fault
    // (e.g. a null in a non-null field); before it (variable coercion) they are the caller's.
    code = error.path ? ErrorCode.Internal : ErrorCode.BadUserInput;
    if (code === ErrorCode.Internal) log(error);
  }
  extensions.code = code;
  const formatted: GraphQLFormattedError = { message, extensions };
  const located = error.locations ? { locations: error.locations } : {};
  const pathed = error.path ? { path: error.path } : {};
  return { ...formatted, ...located, ...pathed };
}
