/** The console guard without a server: disabled, wrong token and spent write budget are domain errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONSOLE_WRITES_PER_SECOND, consoleGuard } from '../../src/console/guard.js';
import { DomainError, type ErrorKind } from '../../src/platform/errors.js';
import type { HttpContext } from '../../src/platform/router.js';

function request(authorization?: string): HttpContext {
  return { req: { headers: authorization === undefined ? {} : { authorization } }, res: { setHeader: () => undefined } } as unknown as HttpContext;
}

const refusedAs = (kind: ErrorKind) => (err: unknown) => err instanceof DomainError && err.kind === kind;

test('no admin token configured: forbidden; a wrong token: unauthorized', () => {
  assert.throws(() => consoleGuard(undefined).admin(request('Bearer x')), refusedAs('forbidden'));
  assert.throws(() => consoleGuard('right-token').admin(request('Bearer wrong')), refusedAs('unauthorized'));
  assert.throws(() => consoleGuard('right-token').admin(request()), refusedAs('unauthorized'));
  consoleGuard('right-token').admin(request('Bearer right-token'));
});

test('writes beyond the per-second budget are rate_limited', () => {
  const guard = consoleGuard('right-token');
  const writes = () => guard.write(request('Bearer right-token'));
  // The budget is a token bucket: a burst of its size passes, the next write in the same second does not.
  let refusal: unknown;
  for (let i = 0; i <= CONSOLE_WRITES_PER_SECOND * 2 && refusal === undefined; i++) {
    try {
      writes();
    } catch (err) {
      refusal = err;
    }
  }
  assert.ok(refusedAs('rate_limited')(refusal), String(refusal));
});
