/** The Beams HTTP edge without a server: every refusal answers `{error, description}`, as both Beams SDKs need. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { BeamsError, beamsErrorResponse, beamsRoute } from '../../src/beams/errors.js';
import { validatePublish } from '../../src/beams/validation.js';
import { createLogger } from '../../src/platform/logger.js';
import type { HttpContext } from '../../src/platform/router.js';
import { forbidden, quotaExceeded, rateLimited, tooLarge } from '../../src/platform/errors.js';

test('Beams errors keep their title; shared errors get the Beams title of their kind', () => {
  assert.deepEqual(beamsErrorResponse(new BeamsError('not_found', 'Instance not found', 'Could not find the instance')), {
    status: 404,
    body: { error: 'Instance not found', description: 'Could not find the instance' },
  });
  // The shared body reader's too_large: Beams reports oversized bodies as 400 "Bad request".
  assert.deepEqual(beamsErrorResponse(tooLarge('Request body too large (limit 10 bytes)')), {
    status: 400,
    body: { error: 'Bad request', description: 'Request body too large (limit 10 bytes)' },
  });
  assert.deepEqual(beamsErrorResponse(forbidden('Admin API disabled')).body, { error: 'Forbidden', description: 'Admin API disabled' });
  assert.equal(beamsErrorResponse(quotaExceeded('over')).status, 403);
  assert.equal(beamsErrorResponse(rateLimited('slow down')).body.error, 'Rate Limited');
});

test('publish validation throws the Beams domain error (unprocessable, 422)', () => {
  assert.throws(
    () => validatePublish('interests', { interests: [], web: { notification: { title: 'x' } } }),
    (err: unknown) => err instanceof BeamsError && err.kind === 'unprocessable' && err.description === 'Publish requests must target at least one interest',
  );
});

function fakeContext() {
  const written: { status?: number; headers?: Record<string, unknown>; body?: string } = {};
  const res = {
    headersSent: false,
    hasHeader: () => false,
    setHeader: () => res,
    writeHead(status: number, headers: Record<string, unknown>) {
      written.status = status;
      written.headers = headers;
      return res;
    },
    end(body: string) {
      written.body = body;
      res.headersSent = true;
    },
  };
  return { ctx: { res: res as unknown as ServerResponse, path: '/publish_api/v1/instances/x' } as HttpContext, written };
}

test('beamsRoute answers domain errors in the Beams shape and anything else as a 500 without details', async () => {
  const logger = createLogger('silent', false);
  const refused = fakeContext();
  await beamsRoute(logger, () => {
    throw rateLimited('Too many requests being made in quick succession (max 1 RPS)');
  })(refused.ctx);
  assert.equal(refused.written.status, 429);
  assert.equal(refused.written.headers!['Retry-After'], '1');
  assert.deepEqual(JSON.parse(refused.written.body!), { error: 'Rate Limited', description: 'Too many requests being made in quick succession (max 1 RPS)' });

  const crashed = fakeContext();
  await beamsRoute(logger, () => {
    throw new TypeError('secret detail');
  })(crashed.ctx);
  assert.equal(crashed.written.status, 500);
  assert.deepEqual(JSON.parse(crashed.written.body!), { error: 'Something went wrong', description: 'Internal server error' });
});
