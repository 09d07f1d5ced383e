import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseQuery } from '../../src/platform/http-context.js';
import { DomainError } from '../../src/platform/errors.js';

test('parseQuery: pairs in received order, empty parts skipped, keys without = get an empty value', () => {
  assert.deepEqual(parseQuery(''), []);
  assert.deepEqual(parseQuery('a=1&b=2&a=3'), [['a', '1'], ['b', '2'], ['a', '3']]);
  assert.deepEqual(parseQuery('&&a=1&&'), [['a', '1']]);
  assert.deepEqual(parseQuery('flag&b=&=v'), [['flag', ''], ['b', ''], ['', 'v']]);
  assert.deepEqual(parseQuery('a=x=y&b'), [['a', 'x=y'], ['b', '']], 'only the first = splits; a later part\'s = is not borrowed');
  assert.deepEqual(parseQuery('k%20ey=a+b%2Bc'), [['k ey', 'a b+c']]);
  assert.throws(() => parseQuery('a=%E0%A4%A'), (err: unknown) => err instanceof DomainError && err.kind === 'invalid');
});

test('parseQuery: more than 100 parameters is a 400, counted as parsed (empty parts are not parameters)', () => {
  assert.equal(parseQuery(Array.from({ length: 100 }, (_, i) => `k${i}=v`).join('&') + '&&&').length, 100);
  assert.throws(
    () => parseQuery('a&'.repeat(101)),
    (err: unknown) => err instanceof DomainError && err.kind === 'invalid' && err.message === 'Too many query parameters (limit 100)',
  );
});
