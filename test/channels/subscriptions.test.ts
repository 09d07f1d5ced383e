/**
 * Public, private and presence subscriptions through stock pusher-js, authorized by the stock
 * `pusher` SDK. Invalid names, duplicates, first/last and members once per user are unit-tested
 * (subscriptions-unit.test.ts); names over 200 characters in limits.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type Pusher from 'pusher';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { RawClient } from '../helpers/raw-client.js';
import { eventually, nextEvent } from '../helpers/wait.js';
import { hmacSha256Hex } from '../../src/protocol/signatures.js';

let h: TestHerald;
let server: Pusher;
before(async () => {
  h = await startTestHerald({ app: { limits: { maxPresenceMembers: 2 } } as never });
  server = h.pusherServer();
});
after(() => h.stop());

/** pusher-js authorizing through the real SDK's authorizeChannel, as an app's auth endpoint would. */
function authorizedClient(user?: { user_id: string; user_info?: unknown }) {
  return h.pusherClient({
    channelAuthorization: {
      customHandler: (params: { socketId: string; channelName: string }, cb: (e: Error | null, a: unknown) => void) =>
        cb(null, server.authorizeChannel(params.socketId, params.channelName, user as Pusher.PresenceChannelData)),
    },
  });
}

test('public channel: subscribe, receive an SDK-triggered event, unsubscribe', async () => {
  const client = h.pusherClient();
  const channel = client.subscribe('public-news');
  await nextEvent(channel, 'pusher:subscription_succeeded');
  const got = nextEvent(channel, 'headline');
  await server.trigger('public-news', 'headline', { text: 'hello' });
  assert.deepEqual(await got, { text: 'hello' });
  client.unsubscribe('public-news');
  await eventually(async () => (await (await server.get({ path: '/channels/public-news', params: {} })).json()).occupied === false);
  client.disconnect();
});

test('private channel with a valid signature', async () => {
  const client = authorizedClient();
  const channel = client.subscribe('private-orders');
  await nextEvent(channel, 'pusher:subscription_succeeded');
  const got = nextEvent(channel, 'placed');
  await server.trigger('private-orders', 'placed', 'plain string data');
  assert.equal(await got, 'plain string data');
  client.disconnect();
});

test('private channel with a bad signature: pusher:error (code 4009) and pusher:subscription_error, socket stays open', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  const wrong = `${h.app.key}:${hmacSha256Hex(h.app.secret, `${raw.socketId}:private-other`)}`;
  raw.send({ event: 'pusher:subscribe', data: { channel: 'private-orders', auth: wrong } });
  const error = await raw.waitEvent('pusher:error');
  assert.equal(error.data.code, 4009);
  assert.match(error.data.message, /^Invalid signature: Expected HMAC SHA256 hex digest of \d+\.\d+:private-orders, but got /);
  const subError = await raw.waitEvent('pusher:subscription_error', 'private-orders');
  assert.deepEqual(Object.keys(subError.data).sort(), ['error', 'status', 'type']);
  assert.equal(subError.data.status, 401);
  raw.send({ event: 'pusher:subscribe', data: { channel: 'private-orders', auth: 'not-even-a-signature' } });
  await raw.waitEvent('pusher:subscription_error', 'private-orders');
  raw.send({ event: 'pusher:subscribe', data: { channel: 'private-orders' } });
  await raw.waitEvent('pusher:subscription_error', 'private-orders');
  assert.equal(raw.closeCode, undefined);
  raw.close();
});

test('pusher-js surfaces a server-side refusal to the channel as pusher:subscription_error', async () => {
  const client = h.pusherClient({
    channelAuthorization: { customHandler: (_p: unknown, cb: (e: Error | null, a: unknown) => void) => cb(null, { auth: `${h.app.key}:${'0'.repeat(64)}` }) },
  });
  const channel = client.subscribe('private-secret');
  const error = await nextEvent<{ type: string; status: number }>(channel, 'pusher:subscription_error');
  assert.equal(error.status, 401);
  client.disconnect();
});

test('presence: roster, member_added/removed, a user with two sockets counts once', async () => {
  const alice = authorizedClient({ user_id: 'alice', user_info: { name: 'Alice' } });
  const room = alice.subscribe('presence-room') as any;
  const members = await nextEvent<any>(room, 'pusher:subscription_succeeded');
  assert.equal(members.count, 1);
  assert.deepEqual(members.me, { id: 'alice', info: { name: 'Alice' } });

  const added = nextEvent<any>(room, 'pusher:member_added');
  const bob1 = authorizedClient({ user_id: 'bob', user_info: { name: 'Bob' } });
  const bobRoom = bob1.subscribe('presence-room') as any;
  const bobMembers = await nextEvent<any>(bobRoom, 'pusher:subscription_succeeded');
  assert.equal(bobMembers.count, 2);
  assert.deepEqual(bobMembers.get('alice'), { id: 'alice', info: { name: 'Alice' } });
  assert.deepEqual(await added, { id: 'bob', info: { name: 'Bob' } });

  const bob2 = authorizedClient({ user_id: 'bob', user_info: { name: 'Bob' } });
  await nextEvent(bob2.subscribe('presence-room'), 'pusher:subscription_succeeded');
  const users = await (await server.get({ path: '/channels/presence-room/users', params: {} })).json();
  assert.deepEqual(users.users.map((u: { id: string }) => u.id).sort(), ['alice', 'bob']);
  const info = await (await server.get({ path: '/channels/presence-room', params: { info: 'user_count,subscription_count' } })).json();
  assert.deepEqual(info, { occupied: true, user_count: 2, subscription_count: 3 });

  const removed = nextEvent<any>(room, 'pusher:member_removed');
  bob1.disconnect();
  await eventually(async () => (await (await server.get({ path: '/channels/presence-room', params: { info: 'subscription_count' } })).json()).subscription_count === 2);
  bob2.disconnect();
  assert.deepEqual(await removed, { id: 'bob', info: { name: 'Bob' } });
  assert.equal(room.members.count, 1);
  alice.disconnect();
});

test('presence: bad signature, bad channel_data and a full channel are refused', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  const sign = (channelData: string) => `${h.app.key}:${hmacSha256Hex(h.app.secret, `${raw.socketId}:presence-full:${channelData}`)}`;
  const data = JSON.stringify({ user_id: 'x' });
  /** Each refusal is a pusher:error plus a channel-scoped pusher:subscription_error. */
  const refusal = async () => {
    const error = await raw.waitEvent('pusher:error');
    const scoped = await raw.waitEvent('pusher:subscription_error', 'presence-full');
    return { message: error.data.message as string, type: scoped.data.type as string };
  };
  raw.send({ event: 'pusher:subscribe', data: { channel: 'presence-full', auth: sign(data), channel_data: JSON.stringify({ user_id: 'y' }) } });
  assert.match((await refusal()).message, /Invalid signature/);
  const noUser = JSON.stringify({ user_info: {} });
  raw.send({ event: 'pusher:subscribe', data: { channel: 'presence-full', auth: sign(noUser), channel_data: noUser } });
  assert.match((await refusal()).message, /user_id/);
  const big = JSON.stringify({ user_id: 'big', user_info: { blob: 'x'.repeat(2000) } });
  raw.send({ event: 'pusher:subscribe', data: { channel: 'presence-full', auth: sign(big), channel_data: big } });
  assert.deepEqual(await refusal(), { message: 'user_info too large (limit 1024 bytes)', type: 'LimitReached' });

  // The app allows 2 members: the third distinct user is refused.
  const a = authorizedClient({ user_id: 'm1' });
  const b = authorizedClient({ user_id: 'm2' });
  await nextEvent(a.subscribe('presence-full'), 'pusher:subscription_succeeded');
  await nextEvent(b.subscribe('presence-full'), 'pusher:subscription_succeeded');
  raw.send({ event: 'pusher:subscribe', data: { channel: 'presence-full', auth: sign(data), channel_data: data } });
  assert.deepEqual(await refusal(), { message: 'Presence channel presence-full is full (limit 2 members)', type: 'LimitReached' });
  a.disconnect();
  b.disconnect();
  raw.close();
});

test('unsubscribe and disconnect vacate channels (channel list goes back to empty)', async () => {
  const client = h.pusherClient();
  await nextEvent(client.subscribe('temp-1'), 'pusher:subscription_succeeded');
  await nextEvent(client.subscribe('temp-2'), 'pusher:subscription_succeeded');
  const list = await (await server.get({ path: '/channels', params: { filter_by_prefix: 'temp-' } })).json();
  assert.deepEqual(list, { channels: { 'temp-1': {}, 'temp-2': {} } });
  client.disconnect();
  await eventually(async () => Object.keys((await (await server.get({ path: '/channels', params: { filter_by_prefix: 'temp-' } })).json()).channels).length === 0);
});
