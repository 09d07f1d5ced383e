/** Cache channels: last event kept per channel, replayed after subscription_succeeded, or pusher:cache_miss. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type Pusher from 'pusher';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { PusherJs } from '../helpers/pusher-js.js';
import { RawClient } from '../helpers/raw-client.js';
import { eventually, nextEvent } from '../helpers/wait.js';
import { authorizedClient, recordChannel, subscribed } from './authorized-clients.js';

let h: TestHerald;
let server: Pusher;
const masterKey = randomBytes(32).toString('base64');

before(async () => {
  h = await startTestHerald({ apps: [{ id: 'short-cache', key: 'short-cache-key', secret: 'short-cache-secret', cacheTtlSeconds: 1 }] });
  server = h.pusherServer({ encryptionMasterKeyBase64: masterKey });
});
after(() => h.stop());

async function channelInfo(name: string, pusher: Pusher = server): Promise<{ status: number; body: any }> {
  const res = await pusher.get({ path: `/channels/${name}`, params: { info: 'cache' } }).catch((err: { status: number; body: string }) => err);
  const status = (res as { status: number }).status;
  if (status !== 200) return { status, body: (res as { body: string }).body };
  return { status, body: await (res as unknown as Response).json() };
}

for (const name of ['cache-weather', 'private-cache-weather', 'presence-cache-weather', 'private-encrypted-cache-weather']) {
  test(`${name}: a new subscriber gets the last event right after subscription_succeeded`, async () => {
    await server.trigger(name, 'old', { n: 1 });
    await server.trigger(name, 'update', { temperature: 21 });
    const client = authorizedClient(h, server, { user: { id: 'cache-reader' } });
    const channel = client.subscribe(name);
    const events = recordChannel(channel);
    const update = await nextEvent<{ temperature: number }>(channel, 'update');
    assert.deepEqual(update, { temperature: 21 }, 'decrypted for the encrypted channel, as-is otherwise');
    const names = events.map((e) => e.event).filter((e) => e !== 'pusher:subscription_count');
    assert.deepEqual(names.slice(0, 2), ['pusher:subscription_succeeded', 'update']);
    assert.ok(!names.includes('old'), 'only the last event is kept');
    assert.ok(!names.includes('pusher:cache_miss'));
    client.disconnect();
  });
}

test('the cached event is replayed as the very next frame after subscription_succeeded', async () => {
  await server.trigger('cache-frames', 'last', 'plain string');
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  raw.send({ event: 'pusher:subscribe', data: { channel: 'cache-frames' } });
  await raw.waitEvent('pusher_internal:subscription_succeeded', 'cache-frames');
  const next = await raw.waitFor(() => true);
  assert.deepEqual(next, { event: 'last', channel: 'cache-frames', data: 'plain string' });
  raw.close();
});

test('pusher:cache_miss when the channel has no cached event (pusher-js and exact frame)', async () => {
  const client = h.pusherClient();
  const channel = client.subscribe('cache-empty');
  await nextEvent(channel, 'pusher:cache_miss');
  client.disconnect();

  const raw = await RawClient.established(h.wsUrl, h.app.key);
  raw.send({ event: 'pusher:subscribe', data: { channel: 'cache-empty-raw' } });
  await raw.waitEvent('pusher_internal:subscription_succeeded', 'cache-empty-raw');
  const miss = await raw.waitFor(() => true);
  assert.deepEqual(miss, { event: 'pusher:cache_miss', channel: 'cache-empty-raw' });
  raw.close();
});

test('non-cache channels never get cache_miss or replays', async () => {
  await server.trigger('plain-channel', 'ev', {});
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  raw.send({ event: 'pusher:subscribe', data: { channel: 'plain-channel' } });
  await raw.waitEvent('pusher_internal:subscription_succeeded', 'plain-channel');
  raw.send({ event: 'pusher:ping', data: {} });
  await raw.waitEvent('pusher:pong');
  assert.deepEqual(raw.frames, []);
  raw.close();
});

test('client events are not cached', async () => {
  const sender = authorizedClient(h, server);
  const senderChannel = await subscribed(sender, 'private-cache-chat');
  const listener = authorizedClient(h, server);
  const listenerChannel = await subscribed(listener, 'private-cache-chat');
  const relayed = nextEvent(listenerChannel, 'client-hello');
  assert.ok(senderChannel.trigger('client-hello', { hi: true }));
  await relayed;
  const late = authorizedClient(h, server);
  await nextEvent(late.subscribe('private-cache-chat'), 'pusher:cache_miss');
  for (const c of [sender, listener, late]) c.disconnect();
});

test('GET /channels/{name}?info=cache returns the cached event and its remaining ttl', async () => {
  await server.trigger('cache-info', 'state', { v: 2 });
  const { status, body } = await channelInfo('cache-info');
  assert.equal(status, 200);
  assert.equal(body.occupied, false);
  assert.equal(body.cache.event, 'state');
  assert.equal(body.cache.data, '{"v":2}');
  assert.ok(body.cache.ttl > 1790 && body.cache.ttl <= 1800, `default ttl is 30 min, got ${body.cache.ttl}`);

  const empty = await channelInfo('cache-never-published');
  assert.deepEqual(empty.body, { occupied: false, cache: null });
});

test('info=cache on a non-cache channel is a 400', async () => {
  const { status, body } = await channelInfo('not-a-cache-channel');
  assert.equal(status, 400);
  assert.match(body, /only available for cache channels/);
});

test('cacheTtlSeconds is per app: an expired event becomes a cache miss', async () => {
  const shortServer = h.pusherServer({ appId: 'short-cache', key: 'short-cache-key', secret: 'short-cache-secret' });
  await shortServer.trigger('cache-brief', 'blip', {});
  const first = await channelInfo('cache-brief', shortServer);
  assert.ok(first.body.cache && first.body.cache.ttl <= 1);
  await eventually(async () => (await channelInfo('cache-brief', shortServer)).body.cache === null, 5000, 'the cached event to expire');
  const shortClient = new PusherJs('short-cache-key', { cluster: 'local', wsHost: '127.0.0.1', wsPort: h.port, forceTLS: false, enabledTransports: ['ws'] });
  await nextEvent(shortClient.subscribe('cache-brief'), 'pusher:cache_miss');
  shortClient.disconnect();
});
