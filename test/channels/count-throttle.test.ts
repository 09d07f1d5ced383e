/** Spec A.3's "at most every 5 s above 100 subscribers", driven by a manual clock. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CountThrottle } from '../../src/channels/count-throttle.js';
import { ManualClock } from '../../src/scaling/clock.js';

test('at or below 100 every count goes out at once', () => {
  const clock = new ManualClock();
  const fired: number[] = [];
  const throttle = new CountThrottle(clock, (n) => fired.push(n));
  for (const n of [1, 2, 100, 99]) throttle.offer(n);
  assert.deepEqual(fired, [1, 2, 100, 99]);
  assert.equal(clock.pending, 0);
});

test('above 100: at most one count per 5 s window, the latest one, at the end of the window', () => {
  const clock = new ManualClock();
  const fired: Array<[number, number]> = [];
  const start = clock.now();
  const throttle = new CountThrottle(clock, (n) => fired.push([n, clock.now() - start]));
  throttle.offer(150); // nothing sent before: at once
  throttle.offer(151);
  throttle.offer(152);
  assert.deepEqual(fired, [[150, 0]]);
  assert.equal(throttle.waiting, true);
  clock.advance(4999);
  assert.deepEqual(fired, [[150, 0]]);
  clock.advance(1);
  assert.deepEqual(fired, [[150, 0], [152, 5000]]);
  clock.advance(6000);
  throttle.offer(160); // the window has passed: at once
  assert.deepEqual(fired.at(-1), [160, 11000]);
});

test('dropping to 100 or below cancels a waiting count and sends the new one at once', () => {
  const clock = new ManualClock();
  const fired: number[] = [];
  const throttle = new CountThrottle(clock, (n) => fired.push(n));
  throttle.offer(101);
  throttle.offer(102);
  throttle.offer(100);
  assert.deepEqual(fired, [101, 100]);
  assert.equal(clock.pending, 0);
  clock.advance(10_000);
  assert.deepEqual(fired, [101, 100]);
});

test('cancel leaves no timer behind', () => {
  const clock = new ManualClock();
  const fired: number[] = [];
  const throttle = new CountThrottle(clock, (n) => fired.push(n));
  throttle.offer(500);
  throttle.offer(600);
  assert.equal(clock.pending, 1);
  throttle.cancel();
  assert.equal(clock.pending, 0);
  clock.advance(10_000);
  assert.deepEqual(fired, [500], 'the waiting 600 was dropped');
});
