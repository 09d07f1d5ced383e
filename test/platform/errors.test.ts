/**
 * The one domain error and its HTTP edge, without sockets: every kind's status, the Pusher-style
 * body (`{error}` plus `code`), the rate-limit headers, and what sendError writes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { DomainError, ERROR_KINDS, forbidden, invalid, isErrorKind, notFound, quotaExceeded, rateLimited, tooLarge, unavailable, type ErrorKind } from '../../src/platform/errors.js';
import { HTTP_STATUS, httpErrorResponse, sendError } from '../../src/platform/http-errors.js';
import { parseQuery } from '../../src/platform/http-context.js';

test('every kind maps to one HTTP status', () => {
  const expected: Record<ErrorKind, number> = {
    invalid: 400,
    too_large: 413,
    unprocessable: 422,
    unauthorized: 401,
    forbidden: 403,
    not_found: 404,
    not_allowed: 405,
    conflict: 409,
    quota: 403,
    rate_limited: 429,
    unavailable: 503,
  };
  assert.deepEqual(HTTP_STATUS, expected);
  assert.deepEqual([...ERROR_KINDS].sort(), Object.keys(expected).sort());
  for (const kind of ERROR_KINDS) assert.equal(httpErrorResponse(new DomainError(kind, 'x')).status, expected[kind]);
});

test('the domain error carries no HTTP status, only its kind and optional parts', () => {
  const err = notFound('Unknown app id 7', { code: 'not_found', pusherCode: 4001 });
  assert.ok(err instanceof Error);
  assert.equal(err.kind, 'not_found');
  assert.equal(err.message, 'Unknown app id 7');
  assert.equal(err.code, 'not_found');
  assert.equal(err.pusherCode, 4001);
  assert.equal('status' in err, false);
  assert.equal(isErrorKind('quota'), true);
  assert.equal(isErrorKind('teapot'), false);
});

test('bodies are {error}, with code only when the error has one', () => {
  assert.deepEqual(httpErrorResponse(invalid('channels must not be empty')).body, { error: 'channels must not be empty' });
  assert.deepEqual(httpErrorResponse(quotaExceeded('Daily message quota exceeded', { code: 'daily_message_quota_exceeded' })), {
    status: 403,
    body: { error: 'Daily message quota exceeded', code: 'daily_message_quota_exceeded' },
    headers: {},
  });
  // The Pusher code and a title are not part of the REST body (Pusher's REST API has neither).
  assert.deepEqual(httpErrorResponse(forbidden('Application disabled', { pusherCode: 4003, title: 'Forbidden' })).body, { error: 'Application disabled' });
});

test('rate-limited refusals say when to retry, and the limit when it is known', () => {
  assert.deepEqual(httpErrorResponse(rateLimited('Too many changes')).headers, { 'Retry-After': '1' });
  assert.deepEqual(httpErrorResponse(rateLimited('Too many requests', { limitPerSecond: 5 })).headers, {
    'Retry-After': '1',
    'X-RateLimit-Limit': '5',
    'X-RateLimit-Remaining': '0',
  });
  assert.deepEqual(httpErrorResponse(unavailable('Broker down')).headers, {});
});

/** The parts of ServerResponse that sendJson uses, recording what was written. */
function fakeResponse() {
  const written: { status?: number; headers?: Record<string, unknown>; body?: string } = {};
  const set = new Map<string, string>();
  const res = {
    headersSent: false,
    hasHeader: (name: string) => set.has(name.toLowerCase()),
    setHeader: (name: string, value: string) => set.set(name.toLowerCase(), value),
    writeHead(status: number, headers: Record<string, unknown>) {
      written.status = status;
      written.headers = { ...Object.fromEntries(set), ...headers };
      return res;
    },
    end(body: string) {
      written.body = body;
      res.headersSent = true;
    },
  };
  return { res: res as unknown as ServerResponse, written };
}

test('sendError writes the status, the JSON body and the headers once', () => {
  const { res, written } = fakeResponse();
  sendError(res, rateLimited('Too many requests: this app is limited to 2 API requests per second', { limitPerSecond: 2 }));
  assert.equal(written.status, 429);
  assert.equal(written.body, '{"error":"Too many requests: this app is limited to 2 API requests per second"}');
  assert.equal(written.headers!['Retry-After'], '1');
  assert.equal(written.headers!['X-RateLimit-Limit'], '2');
  assert.equal(written.headers!['Content-Type'], 'application/json');

  const second = fakeResponse();
  sendError(second.res, tooLarge('Request body too large (limit 10 bytes)'));
  assert.equal(second.written.status, 413);
  assert.equal(second.written.body, '{"error":"Request body too large (limit 10 bytes)"}');
  assert.equal(second.written.headers!['Retry-After'], undefined);
});

test('the request context refuses with domain errors too: a malformed query string is `invalid`', () => {
  assert.deepEqual(parseQuery('a=1&b=x%20y'), [['a', '1'], ['b', 'x y']]);
  assert.throws(() => parseQuery('a=%zz'), (err: unknown) => err instanceof DomainError && err.kind === 'invalid' && err.message === 'Malformed percent-encoding in the query string');
});
