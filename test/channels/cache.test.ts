/**
 * Cache channels through the real clients: last event kept per channel, replayed after
 * subscription_succeeded, or pusher:cache_miss; the HTTP API's info=cache. The exact frames, the
 * ttl's expiry, non-cache channels and client events are unit-tested (cache-unit.test.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type Pusher from 'pusher';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { nextEvent } from '../helpers/wait.js';
import { authorizedClient, recordChannel } from './authorized-clients.js';

let h: TestHerald;
let server: Pusher;
const masterKey = randomBytes(32).toString('base64');

before(async () => {
  h = await startTestHerald();
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

test('pusher-js gets pusher:cache_miss when the channel has no cached event', async () => {
  const client = h.pusherClient();
  const channel = client.subscribe('cache-empty');
  await nextEvent(channel, 'pusher:cache_miss');
  client.disconnect();
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

