/** herald/sdk against a running Herald, observed through real pusher-js clients. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { eventually, nextEvent } from '../helpers/wait.js';
import { ChannelsClient, HeraldHttpError } from '../../src/sdk/index.js';
import { connected, nextCloseCode, sdkAuthorizedClient, signedIn, subscribed } from './e2e-support.js';

const MASTER_KEY = 'BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=';
let h: TestHerald;
let sdk: ChannelsClient;

before(async () => {
  h = await startTestHerald();
  sdk = new ChannelsClient({
    appId: h.app.id,
    key: h.app.key,
    secret: h.app.secret,
    cluster: 'local',
    host: '127.0.0.1',
    port: h.port,
    useTLS: false,
    encryptionMasterKeyBase64: MASTER_KEY,
    timeout: 5000,
  });
});
after(() => h.stop());

test('triggerEvent reaches a pusher-js subscriber; info returns counts', async () => {
  const client = h.pusherClient();
  const channel = await subscribed(client, 'sdk-news');
  const received = nextEvent<{ headline: string }>(channel, 'published');
  const result = await sdk.triggerEvent({ channel: 'sdk-news', event: 'published', data: { headline: 'hello' }, info: 'subscription_count' });
  assert.deepEqual(await received, { headline: 'hello' });
  assert.deepEqual(result, { channels: { 'sdk-news': { subscription_count: 1 } } });
  client.disconnect();
});

test('triggerMultipleChannels honours socketId exclusion', async () => {
  const a = h.pusherClient();
  const b = h.pusherClient();
  const [channelA, channelB] = [await subscribed(a, 'sdk-multi-1'), await subscribed(b, 'sdk-multi-2')];
  const firstForA = nextEvent<string>(channelA, 'ping');
  const firstForB = nextEvent<string>(channelB, 'ping');
  // Excluding b's socket: only a gets "one"; then "two" goes to both, so b's first event must be "two".
  await sdk.triggerMultipleChannels({ channels: ['sdk-multi-1', 'sdk-multi-2'], event: 'ping', data: 'one', socketId: b.connection.socket_id });
  await sdk.triggerMultipleChannels({ channels: ['sdk-multi-1', 'sdk-multi-2'], event: 'ping', data: 'two' });
  assert.equal(await firstForA, 'one');
  assert.equal(await firstForB, 'two');
  a.disconnect();
  b.disconnect();
});

test('triggerBatch delivers every event; info answers per event', async () => {
  const client = h.pusherClient();
  const one = await subscribed(client, 'sdk-batch-1');
  const two = await subscribed(client, 'sdk-batch-2');
  const got1 = nextEvent(one, 'e1');
  const got2 = nextEvent(two, 'e2');
  const result = await sdk.triggerBatch({
    events: [
      { channel: 'sdk-batch-1', event: 'e1', data: { n: 1 }, info: 'subscription_count' },
      { channel: 'sdk-batch-2', name: 'e2', data: 'two' },
    ],
  });
  assert.deepEqual(await got1, { n: 1 });
  assert.equal(await got2, 'two');
  assert.equal(result.batch?.[0]?.subscription_count, 1);
  client.disconnect();
});

test('presence: authorizeChannel for pusher-js, then listChannels, getChannel and getChannelUsers', async () => {
  const alice = sdkAuthorizedClient(h, sdk, { presence: { user_id: 'alice', user_info: { name: 'Alice' } } });
  const bob = sdkAuthorizedClient(h, sdk, { presence: { user_id: 'bob' } });
  await subscribed(alice, 'presence-sdk-room');
  await subscribed(bob, 'presence-sdk-room');
  await subscribed(alice, 'private-sdk-room');

  const list = await sdk.listChannels({ filterByPrefix: 'presence-sdk', info: 'user_count' });
  assert.deepEqual(list, { channels: { 'presence-sdk-room': { user_count: 2 } } });
  const all = await sdk.listChannels();
  assert.ok('private-sdk-room' in all.channels && 'presence-sdk-room' in all.channels);

  const info = await sdk.getChannel({ channelName: 'presence-sdk-room', info: 'user_count,subscription_count' });
  assert.deepEqual(info, { occupied: true, user_count: 2, subscription_count: 2 });
  assert.deepEqual(await sdk.getChannel({ channelName: 'sdk-empty' }), { occupied: false });

  const users = await sdk.getChannelUsers({ channelName: 'presence-sdk-room' });
  assert.deepEqual(users.users.map((u) => u.id).sort(), ['alice', 'bob']);
  alice.disconnect();
  bob.disconnect();
});

test('presence without channelData: a signed-in pusher-js client joins as its signed-in user', async () => {
  const carol = sdkAuthorizedClient(h, sdk, { user: { id: 'carol', user_info: { name: 'Carol' } }, presence: null });
  await signedIn(carol);
  const room = await subscribed(carol, 'presence-sdk-signed-in');
  assert.equal((room as unknown as { members: { me: { id: string } } }).members.me.id, 'carol');
  assert.deepEqual(await sdk.getChannelUsers({ channelName: 'presence-sdk-signed-in' }), { users: [{ id: 'carol' }] });
  carol.disconnect();
});

test('authenticateUser + sendToUser reach the signed-in user; terminateUserConnections closes them', async () => {
  const client = sdkAuthorizedClient(h, sdk, { user: { id: 'sdk-user-1', name: 'Ann' } });
  await signedIn(client);
  const notice = nextEvent<{ m: number }>(client.user as never, 'notice');
  await sdk.sendToUser({ userId: 'sdk-user-1', event: 'notice', data: { m: 1 } });
  assert.deepEqual(await notice, { m: 1 });

  const closed = nextCloseCode(client);
  assert.deepEqual(await sdk.terminateUserConnections({ userId: 'sdk-user-1' }), {});
  assert.equal(await closed, 4009);
  client.disconnect();
});

test('private-encrypted-: authorizeChannel gives pusher-js the shared secret, triggerEvent encrypts', async () => {
  const client = sdkAuthorizedClient(h, sdk);
  const channel = await subscribed(client, 'private-encrypted-sdk');
  const received = nextEvent(channel, 'secret');
  await sdk.triggerEvent({ channel: 'private-encrypted-sdk', event: 'secret', data: { card: '4111' } });
  assert.deepEqual(await received, { card: '4111' });
  client.disconnect();
});

test('createSignedQueryString, customGet and customPost talk to Herald', async () => {
  const path = `/apps/${h.app.id}/channels`;
  const query = await sdk.createSignedQueryString({ method: 'GET', path, params: { filter_by_prefix: 'nothing-' } });
  const response = await fetch(`${h.httpUrl}${path}?${query}`);
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { channels: {} });

  const client = h.pusherClient();
  const channel = await subscribed(client, 'sdk-custom');
  const received = nextEvent(channel, 'raw');
  await sdk.customPost({ path: '/events', body: { name: 'raw', data: '{"a":1}', channels: ['sdk-custom'] } });
  assert.deepEqual(await received, { a: 1 });
  assert.deepEqual(await sdk.customGet({ path: '/channels/sdk-custom', params: { info: 'subscription_count' } }), { occupied: true, subscription_count: 1 });
  client.disconnect();
});

test('server refusals surface as HeraldHttpError with status and body', async () => {
  const wrongSecret = new ChannelsClient({ appId: h.app.id, key: h.app.key, secret: 'not-the-secret', host: '127.0.0.1', port: h.port });
  const unauthorized = await wrongSecret.listChannels().catch((e: unknown) => e);
  assert.ok(unauthorized instanceof HeraldHttpError);
  assert.equal(unauthorized.status, 401);
  assert.match(unauthorized.body, /signature/i);

  const tooBig = await sdk.triggerEvent({ channel: 'sdk-big', event: 'e', data: 'x'.repeat(20_000) }).catch((e: unknown) => e);
  assert.ok(tooBig instanceof HeraldHttpError);
  assert.equal(tooBig.status, 413);

  const unknownApp = new ChannelsClient({ appId: 'no-such-app', key: h.app.key, secret: h.app.secret, host: '127.0.0.1', port: h.port });
  const missing = await unknownApp.listChannels().catch((e: unknown) => e);
  assert.ok(missing instanceof HeraldHttpError);
  assert.equal(missing.status, 404);
});

test('a pusher-js client sees its subscription counted until it leaves', async () => {
  const client = h.pusherClient();
  await connected(client);
  await subscribed(client, 'sdk-count');
  assert.equal((await sdk.getChannel({ channelName: 'sdk-count', info: 'subscription_count' })).subscription_count, 1);
  client.unsubscribe('sdk-count');
  await eventually(async () => !(await sdk.getChannel({ channelName: 'sdk-count' })).occupied, 5000, 'channel vacated');
  client.disconnect();
});
