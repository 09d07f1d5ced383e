/**
 * Private channels authorized with channel_data: the `pusher` SDK's authorizeChannel(socketId,
 * channel, data) signs `socket_id:channel:channel_data` and returns channel_data for private
 * channels too; pusher-js subscribes with both. Herald accepts that form as Pusher does.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type Pusher from 'pusher';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { RawClient } from '../helpers/raw-client.js';
import { nextEvent } from '../helpers/wait.js';
import { subscribed } from './authorized-clients.js';

let h: TestHerald;
let server: Pusher;
const masterKey = randomBytes(32).toString('base64');
const userData = { user_id: 'alice', user_info: { name: 'Alice' } };

before(async () => {
  h = await startTestHerald();
  server = h.pusherServer({ encryptionMasterKeyBase64: masterKey });
});
after(() => h.stop());

/** pusher-js whose auth endpoint answers with authorizeChannel(socketId, channel, userData). */
function clientWithUserData() {
  return h.pusherClient({
    channelAuthorization: {
      customHandler: (params: { socketId: string; channelName: string }, cb: (err: Error | null, data: unknown) => void) =>
        cb(null, server.authorizeChannel(params.socketId, params.channelName, userData)),
    },
  });
}

test('the SDK returns channel_data for a private channel when user data is passed', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  const auth = server.authorizeChannel(raw.socketId, 'private-cd-raw', userData) as { auth: string; channel_data?: string };
  assert.equal(auth.channel_data, JSON.stringify(userData));
  raw.send({ event: 'pusher:subscribe', data: { channel: 'private-cd-raw', auth: auth.auth, channel_data: auth.channel_data } });
  const ok = await raw.waitEvent('pusher_internal:subscription_succeeded', 'private-cd-raw');
  assert.deepEqual(ok.data, {});
  raw.close();
});

test('pusher-js subscribes to a private channel with auth and channel_data and receives events', async () => {
  const client = clientWithUserData();
  const channel = await subscribed(client, 'private-cd-js');
  const received = nextEvent<{ n: number }>(channel, 'ev');
  await server.trigger('private-cd-js', 'ev', { n: 1 });
  assert.deepEqual(await received, { n: 1 });
  client.disconnect();
});

test('pusher-js subscribes to an encrypted channel authorized with channel_data and decrypts', async () => {
  const client = clientWithUserData();
  const channel = await subscribed(client, 'private-encrypted-cd');
  const received = nextEvent<{ text: string }>(channel, 'secret');
  await server.trigger('private-encrypted-cd', 'secret', { text: 'hi' });
  assert.deepEqual(await received, { text: 'hi' });
  client.disconnect();
});

test('the plain signature still works when channel_data is sent alongside it', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  const plain = server.authorizeChannel(raw.socketId, 'private-cd-plain') as { auth: string };
  raw.send({ event: 'pusher:subscribe', data: { channel: 'private-cd-plain', auth: plain.auth, channel_data: '{"user_id":"x"}' } });
  await raw.waitEvent('pusher_internal:subscription_succeeded', 'private-cd-plain');
  raw.close();
});

test('channel_data that differs from what was signed is refused, naming the signed form', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  const auth = server.authorizeChannel(raw.socketId, 'private-cd-forged', userData) as { auth: string };
  const forged = JSON.stringify({ user_id: 'mallory' });
  raw.send({ event: 'pusher:subscribe', data: { channel: 'private-cd-forged', auth: auth.auth, channel_data: forged } });
  const error = await raw.waitEvent('pusher:error', 'private-cd-forged');
  assert.equal(error.data.code, 4009);
  assert.equal(error.data.message.startsWith(`Invalid signature: Expected HMAC SHA256 hex digest of ${raw.socketId}:private-cd-forged:${forged}`), true);
  const subError = await raw.waitEvent('pusher:subscription_error', 'private-cd-forged');
  assert.equal(subError.data.status, 401);
  raw.close();
});

test('a channel_data signature for another socket is refused', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  const auth = server.authorizeChannel('1234.5678', 'private-cd-other', userData) as { auth: string; channel_data: string };
  raw.send({ event: 'pusher:subscribe', data: { channel: 'private-cd-other', auth: auth.auth, channel_data: auth.channel_data } });
  await raw.waitEvent('pusher:subscription_error', 'private-cd-other');
  raw.close();
});
