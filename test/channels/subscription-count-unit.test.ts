/**
 * pusher_internal:subscription_count without sockets (control.ts, spec A.3): sent to a channel's
 * subscribers when its count changes and the app turns the feature on; never for presence. The
 * "at most every 5 s above 100 subscribers" window is tested in count-throttle.test.ts and, through
 * the engine, in engine-seams.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, subscribeFrame, type FakeTransport } from './fake.js';

const counts = (transport: FakeTransport) => transport.data('pusher_internal:subscription_count').map((d) => (d as { subscription_count: number }).subscription_count);

test('every subscriber gets the new count on subscribe and unsubscribe, right after its own subscription_succeeded', () => {
  for (const channel of ['news', 'private-news']) {
    const { engine, open } = harness({ subscriptionCountEvents: true });
    const [a, b] = [open(), open()];
    engine.receive(a.conn, subscribeFrame(a.conn, channel));
    assert.deepEqual(a.transport.events().slice(1), ['pusher_internal:subscription_succeeded', 'pusher_internal:subscription_count'], channel);
    assert.deepEqual(a.transport.frames()[2], { event: 'pusher_internal:subscription_count', channel, data: '{"subscription_count":1}' }, 'the exact frame');
    engine.receive(b.conn, subscribeFrame(b.conn, channel));
    engine.receive(b.conn, JSON.stringify({ event: 'pusher:unsubscribe', data: { channel } }));
    assert.deepEqual(counts(a.transport), [1, 2, 1], channel);
    assert.deepEqual(counts(b.transport), [2], `${channel}: nothing after b left`);
  }
});

test('never for presence channels', () => {
  const { engine, open } = harness({ subscriptionCountEvents: true });
  const [a, b] = [open(), open()];
  engine.receive(a.conn, subscribeFrame(a.conn, 'presence-room', { user_id: 'ann' }));
  engine.receive(b.conn, subscribeFrame(b.conn, 'presence-room', { user_id: 'bob' }));
  assert.deepEqual(counts(a.transport), []);
  assert.deepEqual(counts(b.transport), []);
});

test('off unless the app enables subscriptionCountEvents', () => {
  const { engine, open } = harness();
  const [a, b] = [open(), open()];
  engine.receive(a.conn, subscribeFrame(a.conn, 'news'));
  engine.receive(b.conn, subscribeFrame(b.conn, 'news'));
  assert.deepEqual(counts(a.transport), []);
});
