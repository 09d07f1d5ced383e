/**
 * Cache channels without sockets (engine.publish + membership.ts, spec A.12): the last event of a
 * cache- channel is kept for the app's cacheTtlSeconds and replayed to a new subscriber right
 * after subscription_succeeded, or pusher:cache_miss when there is none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, observed, subscribeFrame } from './fake.js';

test('a new subscriber gets the last published event right after subscription_succeeded', () => {
  for (const channel of ['cache-news', 'private-cache-news', 'presence-cache-room']) {
    const { engine, open } = harness();
    engine.publish({ appId: '1', channels: [channel], event: 'first', data: '1' });
    engine.publish({ appId: '1', channels: [channel], event: 'latest', data: '2' });
    const a = open();
    engine.receive(a.conn, subscribeFrame(a.conn, channel, { user_id: 'ann' }));
    const [, succeeded, replayed, ...rest] = a.transport.frames();
    assert.equal(succeeded?.event, 'pusher_internal:subscription_succeeded', channel);
    assert.deepEqual(replayed, { event: 'latest', channel, data: '2' }, channel);
    assert.deepEqual(rest, [], channel);
  }
});

test('pusher:cache_miss (and the cacheMiss observer) when the channel has no cached event', () => {
  const { engine, open } = harness();
  const seen = observed(engine);
  const a = open();
  engine.receive(a.conn, subscribeFrame(a.conn, 'cache-empty'));
  assert.deepEqual(a.transport.frames().slice(1), [
    { event: 'pusher_internal:subscription_succeeded', channel: 'cache-empty', data: '{}' },
    { event: 'pusher:cache_miss', channel: 'cache-empty' },
  ]);
  assert.ok(seen.includes('cache_miss cache-empty'));
});

test('channels without the cache- prefix neither keep events nor send cache_miss', () => {
  const { engine, open } = harness();
  engine.publish({ appId: '1', channels: ['news'], event: 'e', data: '1' });
  const a = open();
  engine.receive(a.conn, subscribeFrame(a.conn, 'news'));
  assert.deepEqual(a.transport.events(), ['pusher:connection_established', 'pusher_internal:subscription_succeeded']);
});

test('client events are not cached', () => {
  const { engine, open } = harness();
  const [a, b] = [open(), open()];
  engine.receive(a.conn, subscribeFrame(a.conn, 'private-cache-chat'));
  engine.receive(a.conn, JSON.stringify({ event: 'client-typing', channel: 'private-cache-chat', data: {} }));
  engine.receive(b.conn, subscribeFrame(b.conn, 'private-cache-chat'));
  assert.deepEqual(b.transport.events().slice(1), ['pusher_internal:subscription_succeeded', 'pusher:cache_miss']);
});

test('the cached event expires after the app\'s cacheTtlSeconds (then: cache_miss)', () => {
  const { engine, open, clock } = harness({ cacheTtlSeconds: 60 });
  engine.publish({ appId: '1', channels: ['cache-news'], event: 'e', data: '1' });
  clock.advance(59_999);
  const early = open();
  engine.receive(early.conn, subscribeFrame(early.conn, 'cache-news'));
  assert.deepEqual(early.transport.events().at(-1), 'e');
  clock.advance(1);
  const late = open();
  engine.receive(late.conn, subscribeFrame(late.conn, 'cache-news'));
  assert.deepEqual(late.transport.events().at(-1), 'pusher:cache_miss');
});
