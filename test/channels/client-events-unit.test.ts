/**
 * Client events without sockets (client-events.ts, spec A.6): only `client-` events, only on
 * private and presence channels the sender has joined, relayed to the others and never echoed,
 * with the sender's user_id on presence, within the per-socket rate (token bucket on the clock).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENT_EVENTS_DISABLED, CLIENT_EVENTS_WRONG_CHANNEL } from '../../src/channels/client-events.js';
import { harness, observed, subscribeFrame, type FakeTransport } from './fake.js';

const clientEvent = (channel: string, event = 'client-typing', data: unknown = { x: 1 }) => JSON.stringify({ event, channel, data });
const received = (transport: FakeTransport, event = 'client-typing') => transport.frames().filter((f) => f.event === event);
const errors = (transport: FakeTransport) => transport.data('pusher:error') as Array<{ message: string; code: number }>;

/** Two sockets of the app subscribed to `channel` (as `ann` and `bob` on presence channels). */
function pair(channel: string, appInput: Parameters<typeof harness>[0] = {}) {
  const h = harness(appInput);
  const sender = h.open();
  const other = h.open();
  h.engine.receive(sender.conn, subscribeFrame(sender.conn, channel, { user_id: 'ann' }));
  h.engine.receive(other.conn, subscribeFrame(other.conn, channel, { user_id: 'bob' }));
  return { ...h, sender, other };
}

test('a client event on a private channel reaches the other subscribers, not the sender, with its data as a JSON string', () => {
  const { engine, sender, other, open } = pair('private-chat');
  const outsider = open();
  const seen = observed(engine);
  engine.receive(sender.conn, clientEvent('private-chat'));
  assert.deepEqual(received(other.transport), [{ event: 'client-typing', channel: 'private-chat', data: '{"x":1}' }]);
  assert.deepEqual(received(sender.transport), [], 'never echoed to the sender');
  assert.deepEqual(received(outsider.transport), [], 'not subscribed, not delivered');
  assert.deepEqual(seen, [`client client-typing private-chat ${sender.conn.socketId}`]);
});

test('a client event on a presence channel carries the sender\'s user_id', () => {
  const { engine, sender, other } = pair('presence-room');
  engine.receive(sender.conn, clientEvent('presence-room', 'client-hi', 'plain text'));
  assert.deepEqual(received(other.transport, 'client-hi'), [{ event: 'client-hi', channel: 'presence-room', data: 'plain text', user_id: 'ann' }]);
  assert.deepEqual(received(sender.transport, 'client-hi'), []);
});

test('refused on public and encrypted channels, naming the rule; nothing is relayed', () => {
  for (const channel of ['news', 'private-encrypted-x']) {
    const { engine, sender, other } = pair(channel);
    engine.receive(sender.conn, clientEvent(channel));
    assert.deepEqual(errors(sender.transport), [{ message: CLIENT_EVENTS_WRONG_CHANNEL, code: 4300 }], channel);
    assert.deepEqual(received(other.transport), [], channel);
  }
});

test('refused on a channel the sender has not joined, and when the app turns client events off', () => {
  const joined = pair('private-chat');
  const stranger = joined.open();
  joined.engine.receive(stranger.conn, clientEvent('private-chat'));
  assert.deepEqual(errors(stranger.transport), [{ message: 'Client event rejected - not subscribed to channel private-chat', code: 4300 }]);
  assert.deepEqual(received(joined.other.transport), []);

  const off = pair('private-chat', { clientEvents: false });
  off.engine.receive(off.sender.conn, clientEvent('private-chat'));
  assert.deepEqual(errors(off.sender.transport), [{ message: CLIENT_EVENTS_DISABLED, code: 4300 }]);
  assert.deepEqual(received(off.other.transport), []);
});

test('only events named client-…: any other event name a client sends is refused as unsupported', () => {
  const { engine, sender, other } = pair('private-chat');
  engine.receive(sender.conn, clientEvent('private-chat', 'typing'));
  engine.receive(sender.conn, clientEvent('private-chat', 'pusher:typing'));
  const messages = errors(sender.transport).map((e) => e.message);
  assert.equal(messages.length, 2);
  for (const message of messages) assert.match(message, /^Unsupported event .*client- events$/);
  assert.deepEqual(other.transport.events().filter((e) => !e.startsWith('pusher')), []);
});

test('data over maxPayloadBytes (bytes, not characters) is refused', () => {
  const { engine, sender, other } = pair('private-chat', { limits: { maxPayloadBytes: 10 } } as never);
  engine.receive(sender.conn, clientEvent('private-chat', 'client-a', 'é'.repeat(5))); // 10 bytes: allowed
  engine.receive(sender.conn, clientEvent('private-chat', 'client-b', 'é'.repeat(6))); // 12 bytes
  assert.deepEqual(received(other.transport, 'client-a').length, 1);
  assert.deepEqual(received(other.transport, 'client-b'), []);
  assert.deepEqual(errors(sender.transport).map((e) => e.message), ['Client event rejected - data larger than 10 bytes']);
});

test('rate limit: clientEventsPerSecond per socket, 4301 beyond it without closing, refilled as time passes', () => {
  const { engine, sender, other, clock } = pair('private-chat', { limits: { clientEventsPerSecond: 3 } } as never);
  for (let i = 0; i < 4; i++) engine.receive(sender.conn, clientEvent('private-chat', 'client-n', i));
  assert.deepEqual(received(other.transport, 'client-n').map((f) => f.data), ['0', '1', '2']);
  assert.deepEqual(errors(sender.transport), [{ message: 'Client event rejected - rate limit of 3 events per second exceeded', code: 4301 }]);
  assert.equal(sender.transport.closedWith, undefined);

  clock.advance(333); // just under one token (3 per second)
  engine.receive(sender.conn, clientEvent('private-chat', 'client-n', 'early'));
  clock.advance(1);
  engine.receive(sender.conn, clientEvent('private-chat', 'client-n', 'refilled'));
  assert.deepEqual(received(other.transport, 'client-n').map((f) => f.data), ['0', '1', '2', 'refilled']);

  // The bucket is per socket: the other subscriber still has all of its tokens.
  for (let i = 0; i < 3; i++) engine.receive(other.conn, clientEvent('private-chat', 'client-back', i));
  assert.equal(received(sender.transport, 'client-back').length, 3);
});
