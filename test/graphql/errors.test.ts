/** The GraphQL edge of domain errors, without a server: kind → extensions.code, message and status kept. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphQLError } from 'graphql';
import { DomainError, ERROR_KINDS, invalid, quotaExceeded, type ErrorKind } from '../../src/platform/errors.js';
import { BeamsError } from '../../src/beams/errors.js';
import { ErrorCode, GRAPHQL_CODE, formatError, toGraphQLError } from '../../src/graphql/errors.js';

test('every kind maps to one extensions.code', () => {
  const expected: Record<ErrorKind, string> = {
    invalid: 'BAD_USER_INPUT',
    too_large: 'BAD_USER_INPUT',
    unprocessable: 'BAD_USER_INPUT',
    not_allowed: 'BAD_USER_INPUT',
    conflict: 'BAD_USER_INPUT',
    unauthorized: 'UNAUTHENTICATED',
    forbidden: 'FORBIDDEN',
    not_found: 'NOT_FOUND',
    quota: 'QUOTA_EXCEEDED',
    rate_limited: 'RATE_LIMITED',
    unavailable: 'NOT_AVAILABLE',
  };
  assert.deepEqual(GRAPHQL_CODE, expected);
  for (const kind of ERROR_KINDS) assert.equal(toGraphQLError(new DomainError(kind, 'x')).extensions.code, expected[kind]);
});

test('a domain error keeps its message and gets the status REST would answer; Beams errors keep their title', () => {
  const quota = toGraphQLError(quotaExceeded('Daily message quota exceeded for app 1', { code: 'daily_message_quota_exceeded' }));
  assert.equal(quota.message, 'Daily message quota exceeded for app 1');
  assert.deepEqual(quota.extensions, { code: 'QUOTA_EXCEEDED', status: 403 });
  const beams = toGraphQLError(new BeamsError('unprocessable', 'Unprocessable Entity', 'The apns payload is too large for its gateway'));
  assert.equal(beams.message, 'The apns payload is too large for its gateway');
  assert.deepEqual(beams.extensions, { code: 'BAD_USER_INPUT', status: 422, title: 'Unprocessable Entity' });
});

test('errors thrown inside resolvers arrive wrapped and are mapped the same; unknown errors are INTERNAL and logged', () => {
  const logged: unknown[] = [];
  const wrapped = new GraphQLError('channels must not be empty', { originalError: invalid('channels must not be empty'), path: ['triggerEvent'] });
  assert.deepEqual(formatError(wrapped, (e) => logged.push(e)), { message: 'channels must not be empty', extensions: { code: 'BAD_USER_INPUT', status: 400 }, path: ['triggerEvent'] });
  assert.equal(logged.length, 0);
  const crash = new GraphQLError('secret detail', { originalError: new TypeError('secret detail'), path: ['apps'] });
  assert.deepEqual(formatError(crash, (e) => logged.push(e)), { message: 'Internal server error', extensions: { code: ErrorCode.Internal }, path: ['apps'] });
  assert.equal(logged.length, 1);
});
