/**
 * Subscribing and leaving without sockets (subscriptions.ts, membership.ts over the in-memory
 * backends): occupied/vacated once per channel, presence members once per user whatever the
 * number of that user's sockets, refusals, and publish's socket_id exclusion.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, observed, subscribeFrame } from './fake.js';

const unsubscribeFrame = (channel: string) => JSON.stringify({ event: 'pusher:unsubscribe', data: { channel } });

test('the first socket occupies a channel and the last one to leave vacates it, once each (unsubscribe and disconnect alike)', () => {
  const { engine, open } = harness();
  const seen = observed(engine);
  const [a, b, c] = [open(), open(), open()];
  for (const s of [a, b, c]) engine.receive(s.conn, subscribeFrame(s.conn, 'news'));
  assert.deepEqual(seen.filter((e) => /^(occupied|vacated)/.test(e)), ['occupied news']);
  assert.equal(seen.filter((e) => e.startsWith('subscribed news')).length, 3, 'every socket is reported subscribed');

  engine.receive(a.conn, unsubscribeFrame('news'));
  engine.disconnect(b.conn);
  assert.deepEqual(seen.filter((e) => /^(occupied|vacated)/.test(e)), ['occupied news'], 'c still holds the channel');
  assert.deepEqual(engine.occupiedChannels('1'), ['news']);
  engine.receive(c.conn, unsubscribeFrame('news'));
  assert.deepEqual(seen.filter((e) => /^(occupied|vacated)/.test(e)), ['occupied news', 'vacated news']);
  assert.deepEqual(engine.occupiedChannels('1'), []);
  assert.equal(engine.state('1')?.channels.has('news'), false, 'the node forgets a vacated channel');

  engine.receive(a.conn, subscribeFrame(a.conn, 'news'));
  assert.deepEqual(seen.filter((e) => /^(occupied|vacated)/.test(e)), ['occupied news', 'vacated news', 'occupied news'], 'a new first subscriber occupies it again');
});

test('unsubscribing from a channel the socket is not on changes nothing', () => {
  const { engine, open } = harness();
  const seen = observed(engine);
  const a = open();
  engine.receive(a.conn, subscribeFrame(a.conn, 'news'));
  engine.receive(a.conn, unsubscribeFrame('other'));
  engine.receive(a.conn, unsubscribeFrame('other'));
  assert.deepEqual(seen.filter((e) => /^(occupied|vacated|unsubscribed)/.test(e)), ['occupied news']);
  assert.deepEqual(a.transport.events(), ['pusher:connection_established', 'pusher_internal:subscription_succeeded']);
});

test('a second subscription to the same channel is refused and counted once', () => {
  const { engine, open } = harness();
  const a = open();
  engine.receive(a.conn, subscribeFrame(a.conn, 'news'));
  engine.receive(a.conn, subscribeFrame(a.conn, 'news'));
  const [error] = a.transport.data('pusher:error') as Array<{ message: string; code: number }>;
  assert.deepEqual(error, { message: 'Existing subscription to channel news', code: 4300 });
  assert.equal(engine.subscriptionCount('1', 'news'), 1);
  assert.equal(a.transport.data('pusher_internal:subscription_succeeded').length, 1);
});

test('an invalid channel name and a bad private signature are refused with subscription_error; the socket stays open', () => {
  const { engine, open } = harness();
  const a = open();
  engine.receive(a.conn, JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'bad name!' } }));
  engine.receive(a.conn, JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'private-x', auth: 'k:0000' } }));
  const errors = a.transport.frames().filter((f) => f.event === 'pusher:subscription_error') as unknown as Array<{ channel: string; data: { type: string; status: number } }>;
  assert.deepEqual(errors.map((f) => [f.channel, f.data.type, f.data.status]), [['bad name!', 'InvalidChannel', 400], ['private-x', 'AuthError', 401]]);
  assert.equal((a.transport.data('pusher:error')[1] as { code: number }).code, 4009, 'a wrong signature is 4009, as Pusher sends');
  assert.equal(a.transport.closedWith, undefined);
  assert.deepEqual(engine.occupiedChannels('1'), []);
});

test('presence: member_added and member_removed once per user across that user\'s sockets, never to the joining socket', () => {
  const { engine, open } = harness();
  const seen = observed(engine);
  const watcher = open();
  const [bob1, bob2] = [open(), open()];
  engine.receive(watcher.conn, subscribeFrame(watcher.conn, 'presence-room', { user_id: 'ann' }));
  engine.receive(bob1.conn, subscribeFrame(bob1.conn, 'presence-room', { user_id: 'bob', user_info: { n: 1 } }));
  engine.receive(bob2.conn, subscribeFrame(bob2.conn, 'presence-room', { user_id: 'bob', user_info: { n: 1 } }));
  assert.deepEqual(watcher.transport.data('pusher_internal:member_added'), [{ user_id: 'bob', user_info: { n: 1 } }]);
  assert.deepEqual(bob1.transport.data('pusher_internal:member_added'), [], 'bob1 learns of itself through its roster');
  assert.deepEqual(bob2.transport.data('pusher_internal:member_added'), []);
  const roster = bob2.transport.data('pusher_internal:subscription_succeeded')[0] as { presence: { ids: string[]; count: number } };
  assert.deepEqual(roster.presence, { ids: ['ann', 'bob'], hash: { ann: null, bob: { n: 1 } }, count: 2 });

  engine.receive(bob1.conn, unsubscribeFrame('presence-room'));
  assert.deepEqual(watcher.transport.data('pusher_internal:member_removed'), [], 'bob is still there through bob2');
  engine.disconnect(bob2.conn);
  assert.deepEqual(watcher.transport.data('pusher_internal:member_removed'), [{ user_id: 'bob' }]);
  assert.deepEqual(seen.filter((e) => /^(added|removed)/.test(e)), ['added ann presence-room', 'added bob presence-room', 'removed bob presence-room']);
});

test('presence: a numeric user_id goes out as a number, as the client sent it', () => {
  const { engine, open } = harness();
  const [a, b] = [open(), open()];
  engine.receive(a.conn, subscribeFrame(a.conn, 'presence-room', { user_id: 'ann' }));
  engine.receive(b.conn, subscribeFrame(b.conn, 'presence-room', { user_id: 42 }));
  engine.disconnect(b.conn);
  assert.deepEqual(a.transport.data('pusher_internal:member_added'), [{ user_id: 42, user_info: null }]);
  assert.deepEqual(a.transport.data('pusher_internal:member_removed'), [{ user_id: 42 }]);
});

test('publish skips the socket named by excludeSocketId and reaches every other subscriber', () => {
  const { engine, open } = harness();
  const recipients: number[] = [];
  engine.observe({ published: (_app, _channel, _event, _data, count) => recipients.push(count) });
  const [a, b, c] = [open(), open(), open()];
  for (const s of [a, b, c]) engine.receive(s.conn, subscribeFrame(s.conn, 'news'));
  engine.publish({ appId: '1', channels: ['news'], event: 'e', data: '1', excludeSocketId: b.conn.socketId });
  engine.publish({ appId: '1', channels: ['news'], event: 'e', data: '2' });
  const got = (s: typeof a) => s.transport.frames().filter((f) => f.event === 'e').map((f) => f.data);
  assert.deepEqual(got(a), ['1', '2']);
  assert.deepEqual(got(b), ['2'], 'excluded from the first event only');
  assert.deepEqual(got(c), ['1', '2']);
  assert.deepEqual(recipients, [2, 3]);
});

test('publish reaches only the channel\'s subscribers, on every channel named', () => {
  const { engine, open } = harness();
  const [a, b, idle] = [open(), open(), open()];
  engine.receive(a.conn, subscribeFrame(a.conn, 'one'));
  engine.receive(b.conn, subscribeFrame(b.conn, 'two'));
  engine.publish({ appId: '1', channels: ['one', 'two', 'nobody'], event: 'e', data: 'x' });
  assert.deepEqual(a.transport.frames().filter((f) => f.event === 'e').map((f) => f.channel), ['one']);
  assert.deepEqual(b.transport.frames().filter((f) => f.event === 'e').map((f) => f.channel), ['two']);
  assert.deepEqual(idle.transport.events(), ['pusher:connection_established']);
});
