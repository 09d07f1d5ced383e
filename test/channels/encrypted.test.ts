/** End-to-end encrypted channels: the pusher SDK encrypts, Herald relays ciphertext, pusher-js decrypts. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type Pusher from 'pusher';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { RawClient } from '../helpers/raw-client.js';
import { nextEvent } from '../helpers/wait.js';
import { authorizedClient, subscribed } from './authorized-clients.js';

const masterKey = randomBytes(32).toString('base64');
let h: TestHerald;
let server: Pusher;

before(async () => {
  h = await startTestHerald();
  server = h.pusherServer({ encryptionMasterKeyBase64: masterKey });
});
after(() => h.stop());

test('pusher-js decrypts what the pusher SDK encrypted; the server never needs the key', async () => {
  const client = authorizedClient(h, server);
  const channel = await subscribed(client, 'private-encrypted-docs');
  const received = nextEvent<{ text: string }>(channel, 'secret');
  await server.trigger('private-encrypted-docs', 'secret', { text: 'hello ünïcode' });
  assert.deepEqual(await received, { text: 'hello ünïcode' });
  client.disconnect();
});

test('the wire carries only nonce and ciphertext', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  const auth = server.authorizeChannel(raw.socketId, 'private-encrypted-wire') as { auth: string; shared_secret?: string };
  assert.ok(auth.shared_secret, 'the SDK hands the shared secret to the client, not to Herald');
  raw.send({ event: 'pusher:subscribe', data: { channel: 'private-encrypted-wire', auth: auth.auth } });
  await raw.waitEvent('pusher_internal:subscription_succeeded', 'private-encrypted-wire');
  await server.trigger('private-encrypted-wire', 'secret', { text: 'plaintext marker' });
  const frame = await raw.waitEvent('secret', 'private-encrypted-wire');
  assert.deepEqual(Object.keys(frame.data).sort(), ['ciphertext', 'nonce']);
  assert.equal(Buffer.from(frame.data.nonce, 'base64').length, 24);
  assert.ok(!JSON.stringify(frame).includes('plaintext marker'));
  raw.close();
});

test('subscription without a valid signature is refused like a private channel', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  raw.send({ event: 'pusher:subscribe', data: { channel: 'private-encrypted-x', auth: `${h.app.key}:${'0'.repeat(64)}` } });
  const error = await raw.waitEvent('pusher:error', 'private-encrypted-x');
  assert.equal(error.data.code, 4009);
  assert.match(error.data.message, /^Invalid signature/);
  const subError = await raw.waitEvent('pusher:subscription_error', 'private-encrypted-x');
  assert.equal(subError.data.status, 401);
  raw.close();
});

test('pusher-js reports a failed authorization as pusher:subscription_error', async () => {
  const client = h.pusherClient({
    channelAuthorization: { customHandler: (_p: unknown, cb: (e: Error | null, d: unknown) => void) => cb(null, { auth: `${h.app.key}:${'f'.repeat(64)}`, shared_secret: randomBytes(32).toString('base64') }) },
  });
  const channel = client.subscribe('private-encrypted-denied');
  const error = await nextEvent<{ type: string; status: number }>(channel, 'pusher:subscription_error');
  assert.equal(error.status, 401);
  client.disconnect();
});

test('client events on encrypted channels are refused by the server', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  const auth = server.authorizeChannel(raw.socketId, 'private-encrypted-chat') as { auth: string };
  raw.send({ event: 'pusher:subscribe', data: { channel: 'private-encrypted-chat', auth: auth.auth } });
  await raw.waitEvent('pusher_internal:subscription_succeeded', 'private-encrypted-chat');

  const listener = authorizedClient(h, server);
  const channel = await subscribed(listener, 'private-encrypted-chat');
  let relayed = false;
  channel.bind('client-typing', () => (relayed = true));

  raw.send({ event: 'client-typing', channel: 'private-encrypted-chat', data: { nonce: 'x', ciphertext: 'y' } });
  const error = await raw.waitEvent('pusher:error', 'private-encrypted-chat');
  assert.equal(error.data.code, 4300);
  assert.equal(error.data.message, 'Client event rejected - only supported on private and presence channels');
  // A later API event arrives, proving the client event was dropped, not merely slow.
  const marker = nextEvent(channel, 'marker');
  await server.trigger('private-encrypted-chat', 'marker', {});
  await marker;
  assert.equal(relayed, false);
  listener.disconnect();
  raw.close();
});

test('an event to an encrypted channel must go to that channel alone (HTTP 400)', async () => {
  const plain = h.pusherServer(); // no master key: sends the body as-is, so the server check is exercised
  const response = await plain
    // The SDK JSON-encodes `body` itself (its typings say string).
    .post({ path: '/events', body: { name: 'e', data: '{}', channels: ['private-encrypted-a', 'public-b'] } as never })
    .catch((err: { status: number; body: string }) => err);
  assert.equal((response as { status: number }).status, 400);
  assert.match((response as { body: string }).body, /encrypted channel must be sent to that channel alone/);
});
