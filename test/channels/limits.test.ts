/**
 * Per-app limits with Pusher's defaults, and the exact refusal each one produces. Client events'
 * size and rate limits are unit-tested (client-events-unit.test.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type Pusher from 'pusher';
import { parseApp } from '../../src/apps/app.js';
import type { MemoryAppRegistry } from '../../src/apps/registry.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { PusherJs } from '../helpers/pusher-js.js';
import { RawClient } from '../helpers/raw-client.js';
import { eventually, nextEvent } from '../helpers/wait.js';
import { closeCode } from './authorized-clients.js';

const small = {
  id: 'small-app',
  key: 'small-key',
  secret: 'small-secret',
  limits: { maxConnections: 2, maxChannelNameLength: 164, maxSubscriptionsPerConnection: 2 },
};
const withPresence = { id: 'presence-small', key: 'presence-small-key', secret: 'presence-small-secret', limits: { maxPresenceMembers: 3 } };
const switchable = { id: 'switch-app', key: 'switch-key', secret: 'switch-secret' };
let h: TestHerald;
let server: Pusher;

before(async () => {
  h = await startTestHerald({ apps: [small, switchable, withPresence] });
  server = h.pusherServer();
});
after(() => h.stop());

function clientOf(key: string): PusherJs {
  return new PusherJs(key, { cluster: 'local', wsHost: '127.0.0.1', wsPort: h.port, forceTLS: false, enabledTransports: ['ws'] });
}

/** POST /events through the SDK's generic signed post (skips the SDK's own client-side checks). */
async function postEvent(body: object, pusher: Pusher = server): Promise<{ status: number; body: string }> {
  // The SDK JSON-encodes `body` itself (its typings say string).
  const res = await pusher.post({ path: '/events', body: body as never }).catch((err: { status: number; body: string }) => err);
  if ((res as unknown as Response).ok) return { status: 200, body: await (res as unknown as Response).text() };
  return res as { status: number; body: string };
}

function presenceSubscribe(raw: RawClient, channel: string, member: Pusher.PresenceChannelData, pusher: Pusher = server) {
  const auth = pusher.authorizeChannel(raw.socketId, channel, member) as { auth: string; channel_data: string };
  raw.send({ event: 'pusher:subscribe', data: { channel, auth: auth.auth, channel_data: auth.channel_data } });
}

test('Pusher defaults', () => {
  const app = parseApp({ id: 'a', key: 'k', secret: 'secret-123' });
  assert.deepEqual(
    {
      members: app.limits.maxPresenceMembers,
      userInfo: app.limits.maxPresenceUserInfoBytes,
      channelName: app.limits.maxChannelNameLength,
      eventName: app.limits.maxEventNameLength,
      payload: app.limits.maxPayloadBytes,
      clientEvents: app.limits.clientEventsPerSecond,
      watchlist: app.limits.maxWatchlistSize,
      connections: app.limits.maxConnections,
    },
    { members: 100, userInfo: 1024, channelName: 200, eventName: 200, payload: 10240, clientEvents: 10, watchlist: 100, connections: 0 },
  );
});

test('presence channel full (default 100, here 3): the next member is refused with LimitReached; a known member may add a socket', async () => {
  // The default of 100 is asserted above; a small configured limit keeps this test light on a loaded machine.
  const presenceServer = h.pusherServer({ appId: withPresence.id, key: withPresence.key, secret: withPresence.secret });
  const members: RawClient[] = [];
  for (let i = 0; i < 3; i++) {
    const raw = await RawClient.established(h.wsUrl, withPresence.key);
    presenceSubscribe(raw, 'presence-full', { user_id: `member-${i}` }, presenceServer);
    await raw.waitEvent('pusher_internal:subscription_succeeded', 'presence-full');
    members.push(raw);
  }

  const client = new PusherJs(withPresence.key, {
    cluster: 'local', wsHost: '127.0.0.1', wsPort: h.port, forceTLS: false, enabledTransports: ['ws'],
    channelAuthorization: {
      customHandler: (p: { socketId: string; channelName: string }, cb: (e: Error | null, d: unknown) => void) =>
        cb(null, presenceServer.authorizeChannel(p.socketId, p.channelName, { user_id: 'member-4' })),
    },
  } as never);
  const channel = client.subscribe('presence-full');
  const refusal = await nextEvent<{ type: string; error: string; status: number }>(channel, 'pusher:subscription_error');
  assert.deepEqual(refusal, { type: 'LimitReached', error: 'Presence channel presence-full is full (limit 3 members)', status: 403 });

  const sameUser = await RawClient.established(h.wsUrl, withPresence.key);
  presenceSubscribe(sameUser, 'presence-full', { user_id: 'member-1' }, presenceServer);
  const ok = await sameUser.waitEvent('pusher_internal:subscription_succeeded', 'presence-full');
  assert.equal(ok.data.presence.count, 3);
  for (const m of [...members, sameUser]) m.close();
  client.disconnect();
});

test('presence user_info over 1 KB (bytes, not characters) is refused', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  presenceSubscribe(raw, 'presence-big', { user_id: 'big', user_info: { name: 'é'.repeat(600) } });
  const error = await raw.waitEvent('pusher:error', 'presence-big');
  assert.deepEqual(error.data, { code: 4300, message: 'user_info too large (limit 1024 bytes)' });
  const subError = await raw.waitEvent('pusher:subscription_error', 'presence-big');
  assert.equal(subError.data.type, 'LimitReached');
  presenceSubscribe(raw, 'presence-big', { user_id: 'small', user_info: { name: 'e'.repeat(600) } });
  await raw.waitEvent('pusher_internal:subscription_succeeded', 'presence-big');
  raw.close();
});

test('channel names: 200 characters by default, configurable per app', async () => {
  const ok200 = 'c'.repeat(200);
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  raw.send({ event: 'pusher:subscribe', data: { channel: ok200 } });
  await raw.waitEvent('pusher_internal:subscription_succeeded', ok200);
  raw.send({ event: 'pusher:subscribe', data: { channel: 'c'.repeat(201) } });
  const error = await raw.waitEvent('pusher:error');
  assert.match(error.data.message, /^Channel name too long \(max 200 characters\)/);
  const subError = await raw.waitEvent('pusher:subscription_error');
  assert.equal(subError.data.type, 'InvalidChannel');
  assert.equal(subError.data.status, 400);
  raw.close();

  assert.equal((await postEvent({ name: 'e', data: '{}', channels: ['c'.repeat(201)] })).status, 400);

  const smallServer = h.pusherServer({ appId: small.id, key: small.key, secret: small.secret });
  const rejected = await smallServer.trigger('s'.repeat(170), 'e', {}).catch((err: { status: number; body: string }) => err);
  assert.equal((rejected as { status: number }).status, 400);
  assert.match((rejected as { body: string }).body, /max 164 characters/);
});

test('event names: 200 characters (HTTP 400, client events refused)', async () => {
  const long = await postEvent({ name: 'e'.repeat(201), data: '{}', channels: ['x'] });
  assert.equal(long.status, 400);
  assert.match(long.body, /Event name too long \(max 200 characters\)/);
  assert.equal((await postEvent({ name: 'e'.repeat(200), data: '{}', channels: ['x'] })).status, 200);

  const raw = await RawClient.established(h.wsUrl, h.app.key);
  const auth = server.authorizeChannel(raw.socketId, 'private-names') as { auth: string };
  raw.send({ event: 'pusher:subscribe', data: { channel: 'private-names', auth: auth.auth } });
  await raw.waitEvent('pusher_internal:subscription_succeeded', 'private-names');
  raw.send({ event: `client-${'n'.repeat(200)}`, channel: 'private-names', data: {} });
  const error = await raw.waitEvent('pusher:error', 'private-names');
  assert.equal(error.data.message, 'Client event rejected - Event name too long (max 200 characters)');
  raw.close();
});

test('payload: 10 KB (HTTP 413 through the SDK)', async () => {
  const big = { blob: 'x'.repeat(10 * 1024) };
  const rejected = await server.trigger('payloads', 'big', big).catch((err: { status: number; body: string }) => err);
  assert.equal((rejected as { status: number }).status, 413);
  assert.match((rejected as { body: string }).body, /the limit is 10240/);
  assert.equal((await server.trigger('payloads', 'ok', { blob: 'x'.repeat(10 * 1024 - 20) })).status, 200);
});

test('subscriptions per connection (maxSubscriptionsPerConnection) and user id length (128)', async () => {
  const raw = await RawClient.established(h.wsUrl, small.key);
  for (const name of ['one', 'two']) {
    raw.send({ event: 'pusher:subscribe', data: { channel: name } });
    await raw.waitEvent('pusher_internal:subscription_succeeded', name);
  }
  raw.send({ event: 'pusher:subscribe', data: { channel: 'three' } });
  const subError = await raw.waitEvent('pusher:subscription_error', 'three');
  assert.deepEqual(subError.data, { type: 'LimitReached', error: 'Too many subscriptions on this connection (limit 2)', status: 400 });
  raw.close();

  const member = await RawClient.established(h.wsUrl, h.app.key);
  presenceSubscribe(member, 'presence-ids', { user_id: 'u'.repeat(129) });
  const tooLong = await member.waitEvent('pusher:subscription_error', 'presence-ids');
  assert.equal(tooLong.data.error, 'user_id too long (limit 128 characters)');
  member.close();
});

test('max connections per app: over the quota the socket is closed with 4004', async () => {
  await eventually(() => h.herald.engine.connectionCount(small.id) === 0, 5000, 'earlier sockets of the app to be gone');
  const first = await RawClient.established(h.wsUrl, small.key);
  const second = await RawClient.established(h.wsUrl, small.key);
  const third = await RawClient.connect(`${h.wsUrl}/app/${small.key}?protocol=7&client=js&version=8.6.0`);
  assert.deepEqual(await third.closed, { code: 4004, reason: 'Application is over connection quota' });

  const client = clientOf(small.key);
  assert.equal(await closeCode(client, 10000), 4004);
  client.disconnect();

  const otherApp = await RawClient.established(h.wsUrl, h.app.key);
  otherApp.close();
  for (const c of [first, second]) c.close();
});

test('disabled app: new sockets get 4003, open sockets are closed with 4003, the HTTP API answers 403', async () => {
  const switchServer = h.pusherServer({ appId: switchable.id, key: switchable.key, secret: switchable.secret });
  const open = clientOf(switchable.key);
  await nextEvent(open.connection, 'connected');
  const closed = closeCode(open);
  (h.herald.engine.apps as MemoryAppRegistry).put(parseApp({ ...switchable, enabled: false }));
  assert.equal(await closed, 4003);

  const raw = await RawClient.connect(`${h.wsUrl}/app/${switchable.key}?protocol=7`);
  assert.deepEqual(await raw.closed, { code: 4003, reason: 'Application disabled' });

  const rejected = await switchServer.trigger('x', 'e', {}).catch((err: { status: number; body: string }) => err);
  assert.equal((rejected as { status: number }).status, 403);
  open.disconnect();
});
