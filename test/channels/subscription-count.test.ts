/** pusher_internal:subscription_count, sent to subscribers when the app enables subscriptionCountEvents. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type Pusher from 'pusher';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { PusherJs } from '../helpers/pusher-js.js';
import { RawClient } from '../helpers/raw-client.js';
import { nextEvent } from '../helpers/wait.js';

let h: TestHerald;
let server: Pusher;
const counting = { id: 'counting-app', key: 'counting-key', secret: 'counting-secret', subscriptionCountEvents: true };

before(async () => {
  h = await startTestHerald({ apps: [counting] });
  server = h.pusherServer({ appId: counting.id, key: counting.key, secret: counting.secret });
});
after(() => h.stop());

function clientOf(key: string, extra: Record<string, unknown> = {}): PusherJs {
  return new PusherJs(key, { cluster: 'local', wsHost: '127.0.0.1', wsPort: h.port, forceTLS: false, enabledTransports: ['ws'], ...extra });
}

test('pusher-js sees the count on subscribe and unsubscribe, and stores it on the channel', async () => {
  const first = clientOf(counting.key);
  const channelA = first.subscribe('counted');
  assert.deepEqual(await nextEvent(channelA, 'pusher:subscription_count'), { subscription_count: 1 });

  const second = clientOf(counting.key);
  const toFirst = nextEvent(channelA, 'pusher:subscription_count');
  const channelB = second.subscribe('counted');
  assert.deepEqual(await nextEvent(channelB, 'pusher:subscription_count'), { subscription_count: 2 });
  assert.deepEqual(await toFirst, { subscription_count: 2 });
  assert.equal((channelA as unknown as { subscriptionCount: number }).subscriptionCount, 2);

  const afterLeave = nextEvent(channelA, 'pusher:subscription_count');
  second.unsubscribe('counted');
  assert.deepEqual(await afterLeave, { subscription_count: 1 });

  const afterDisconnect = nextEvent(channelA, 'pusher:subscription_count');
  const third = clientOf(counting.key);
  third.subscribe('counted');
  assert.deepEqual(await afterDisconnect, { subscription_count: 2 });
  const dropped = nextEvent(channelA, 'pusher:subscription_count');
  third.disconnect();
  assert.deepEqual(await dropped, { subscription_count: 1 }, 'a closed socket counts as leaving');
  first.disconnect();
  second.disconnect();
});

test('exact frame, sent right after subscription_succeeded; private channels too', async () => {
  const raw = await RawClient.established(h.wsUrl, counting.key);
  const auth = server.authorizeChannel(raw.socketId, 'private-counted') as { auth: string };
  raw.send({ event: 'pusher:subscribe', data: { channel: 'private-counted', auth: auth.auth } });
  await raw.waitEvent('pusher_internal:subscription_succeeded', 'private-counted');
  const next = await raw.waitFor(() => true);
  assert.deepEqual(next, { event: 'pusher_internal:subscription_count', channel: 'private-counted', data: { subscription_count: 1 } });
  raw.close();
});

test('never sent for presence channels', async () => {
  const raw = await RawClient.established(h.wsUrl, counting.key);
  const presence = JSON.stringify({ user_id: 'p1' });
  const auth = server.authorizeChannel(raw.socketId, 'presence-counted', { user_id: 'p1' }) as { auth: string; channel_data: string };
  raw.send({ event: 'pusher:subscribe', data: { channel: 'presence-counted', auth: auth.auth, channel_data: auth.channel_data ?? presence } });
  await raw.waitEvent('pusher_internal:subscription_succeeded', 'presence-counted');
  raw.send({ event: 'pusher:ping', data: {} });
  await raw.waitEvent('pusher:pong');
  assert.deepEqual(raw.frames.map((f) => f.event), []);
  raw.close();
});

test('off by default (subscriptionCountEvents: false)', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  raw.send({ event: 'pusher:subscribe', data: { channel: 'not-counted' } });
  await raw.waitEvent('pusher_internal:subscription_succeeded', 'not-counted');
  const other = clientOf(h.app.key);
  other.subscribe('not-counted');
  await nextEvent(other.channel('not-counted'), 'pusher:subscription_succeeded');
  raw.send({ event: 'pusher:ping', data: {} });
  await raw.waitEvent('pusher:pong');
  assert.deepEqual(raw.frames.map((f) => f.event), []);
  other.disconnect();
  raw.close();
});
