/**
 * GraphQL errors with `extensions.code`, and the translation of the errors thrown by the shared
 * services (HttpError from the HTTP API rules and quotas, BeamsError from Beams) so a rule refused
 * through GraphQL reads the same as through REST.
 */
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { BeamsError } from '../beams/errors.js';
import { HttpError } from '../platform/router.js';

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

/** Maps an HTTP status (from HttpError/BeamsError) to our codes. */
function codeForStatus(status: number, code?: string): ErrorCodeValue {
  if (code && code.includes('quota')) return ErrorCode.QuotaExceeded;
  if (status === 400 || status === 413 || status === 422) return ErrorCode.BadUserInput;
  if (status === 401) return ErrorCode.Unauthenticated;
  if (status === 402) return ErrorCode.QuotaExceeded;
  if (status === 403) return ErrorCode.Forbidden;
  if (status === 404) return ErrorCode.NotFound;
  if (status === 409) return ErrorCode.BadUserInput;
  if (status === 429) return ErrorCode.RateLimited;
  return ErrorCode.Internal;
}

/** Converts what a shared service threw into a GraphQLError; unknown errors become INTERNAL. */
export function toGraphQLError(err: unknown): GraphQLError {
  if (err instanceof GraphQLError) {
    // Errors raised in resolvers arrive wrapped (with path/locations); keep their own code.
    const original = err.originalError;
    if (original && !(original instanceof GraphQLError)) return toGraphQLError(original);
    return err;
  }
  if (err instanceof HttpError) return gqlError(codeForStatus(err.status, err.code), err.message, { status: err.status });
  if (err instanceof BeamsError) return gqlError(codeForStatus(err.status), err.description, { status: err.status, title: err.title });
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
