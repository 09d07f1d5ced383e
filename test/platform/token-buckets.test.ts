/** Keyed token buckets (API and Beams rate limits), on explicit clocks and on the real one. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBuckets } from '../../src/platform/token-buckets.js';

test('0 per second is unlimited', () => {
  const buckets = new TokenBuckets();
  for (let i = 0; i < 1000; i++) assert.equal(buckets.take('a', 0), true);
});

test('a burst of one second\'s worth per key, refilled with time', () => {
  const buckets = new TokenBuckets();
  for (let i = 0; i < 3; i++) assert.equal(buckets.take('a', 3, 1000), true);
  assert.equal(buckets.take('a', 3, 1000), false);
  assert.equal(buckets.take('b', 3, 1000), true, 'per key');
  assert.equal(buckets.take('a', 3, 1333), false, 'a third of a second is not quite one token');
  assert.equal(buckets.take('a', 3, 1334), true);
  assert.equal(buckets.take('a', 3, 5000, 3), true, 'never more than a second\'s worth banked');
  assert.equal(buckets.take('a', 3, 5000), false);
  assert.equal(buckets.take('a', 3, 9000, 4), false, 'more units than a second\'s worth never fit');
  assert.equal(buckets.take('a', 3, 9000, 3), true, 'a refused request took nothing');
});

test('without a time given, the clock is read', () => {
  const buckets = new TokenBuckets();
  assert.equal(buckets.take('a', 2), true);
  assert.equal(buckets.take('a', 2), true);
  assert.equal(buckets.take('a', 2), false);
  assert.equal(buckets.take('a', 2, Date.now() + 1000), true);
});

test('past maxKeys the table starts over', () => {
  const buckets = new TokenBuckets(2);
  assert.equal(buckets.take('a', 1, 0), true);
  assert.equal(buckets.take('a', 1, 0), false);
  buckets.take('b', 1, 0);
  buckets.take('c', 1, 0);
  assert.equal(buckets.take('a', 1, 0), true, 'a was forgotten');
});
