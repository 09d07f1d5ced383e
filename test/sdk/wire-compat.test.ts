/**
 * Both SDKs send to a capture server with the same (stubbed) time: method, path, query and body
 * must be identical byte for byte (spec D.2).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Pusher from 'pusher';
import nacl from 'tweetnacl';
import { ChannelsClient } from '../../src/sdk/index.js';
import { startCaptureServer, type CaptureServer, type CapturedRequest } from './capture-server.js';

const APP = { appId: '123', key: 'thekey', secret: 'thesecret' };
const MASTER_KEY = 'BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=';
const NOW_MS = 1_700_000_042_000;

let server: CaptureServer;
let ours: ChannelsClient;
let theirs: Pusher;

before(async () => {
  server = await startCaptureServer();
  const common = { ...APP, host: '127.0.0.1', port: server.port, useTLS: false, encryptionMasterKeyBase64: MASTER_KEY };
  ours = new ChannelsClient(common, { clock: () => NOW_MS });
  theirs = new Pusher(common as unknown as Pusher.Options);
});
after(() => server.close());

async function capture(send: () => Promise<unknown>): Promise<CapturedRequest> {
  const arrived = server.next();
  await send();
  return arrived;
}

async function compare(t: { mock: { method: typeof import('node:test').mock.method } }, name: string, official: () => Promise<unknown>, mine: () => Promise<unknown>) {
  const restore = t.mock.method(Date, 'now', () => NOW_MS);
  const expected = await capture(official);
  restore.mock.restore();
  const actual = await capture(mine);
  assert.equal(actual.method, expected.method, `${name}: method`);
  assert.equal(actual.url, expected.url, `${name}: path and query`);
  assert.equal(actual.body, expected.body, `${name}: body`);
  assert.equal(actual.headers['content-type'], expected.headers['content-type'], `${name}: content-type`);
}

test('triggerEvent / triggerMultipleChannels / sendToUser bodies and queries match', async (t) => {
  await compare(t, 'single', () => theirs.trigger('my-channel', 'my-event', { hello: 'world' }), () => ours.triggerEvent({ channel: 'my-channel', event: 'my-event', data: { hello: 'world' } }));
  await compare(
    t,
    'string data + socket_id + info',
    () => theirs.trigger(['a', 'b'], 'ev', 'plain string', { socket_id: '123.456', info: 'subscription_count' }),
    () => ours.triggerMultipleChannels({ channels: ['a', 'b'], event: 'ev', data: 'plain string', socketId: '123.456', info: 'subscription_count' }),
  );
  await compare(
    t,
    'presence info both',
    () => theirs.trigger('presence-x', 'ev', [1, 'ü', null], { info: 'subscription_count,user_count' }),
    () => ours.triggerEvent({ channel: 'presence-x', event: 'ev', data: [1, 'ü', null], info: 'subscription_count,user_count' }),
  );
  await compare(t, 'sendToUser', () => theirs.sendToUser('user-1', 'notice', { m: 1 }), () => ours.sendToUser({ userId: 'user-1', event: 'notice', data: { m: 1 } }));
});

test('triggerBatch matches when the caller uses the official field order', async (t) => {
  await compare(
    t,
    'batch',
    () =>
      theirs.triggerBatch([
        { channel: 'c1', name: 'e1', data: { x: 1 } },
        { channel: 'presence-c2', name: 'e2', data: 'str', socket_id: '1.2', info: 'user_count' } as never,
      ]),
    () =>
      ours.triggerBatch({
        events: [
          { channel: 'c1', event: 'e1', data: { x: 1 } },
          { channel: 'presence-c2', event: 'e2', data: 'str', socketId: '1.2', info: 'user_count' },
        ],
      }),
  );
});

test('channel queries, terminate and custom requests match', async (t) => {
  await compare(t, 'list', () => theirs.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } }), () => ours.listChannels({ filterByPrefix: 'presence-', info: 'user_count' }));
  await compare(t, 'list all', () => theirs.get({ path: '/channels' }), () => ours.listChannels());
  await compare(
    t,
    'channel',
    () => theirs.get({ path: '/channels/presence-room', params: { info: 'user_count,subscription_count' } }),
    () => ours.getChannel({ channelName: 'presence-room', info: 'user_count,subscription_count' }),
  );
  await compare(t, 'users', () => theirs.get({ path: '/channels/presence-room/users' }), () => ours.getChannelUsers({ channelName: 'presence-room' }));
  await compare(t, 'terminate', () => theirs.terminateUserConnections('user-1'), () => ours.terminateUserConnections({ userId: 'user-1' }));
  await compare(t, 'terminate odd id', () => theirs.terminateUserConnections('a@b,c=d'), () => ours.terminateUserConnections({ userId: 'a@b,c=d' }));
  await compare(
    t,
    'customPost',
    () => theirs.post({ path: '/events', params: { dry_run: 1 }, body: { name: 'x', data: '{}', channels: ['a'] } as never }),
    () => ours.customPost({ path: '/events', params: { dry_run: 1 }, body: { name: 'x', data: '{}', channels: ['a'] } }),
  );
  await compare(t, 'customGet', () => theirs.get({ path: '/channels', params: { filter_by_prefix: 'private-' } }), () => ours.customGet({ path: '/channels', params: { filter_by_prefix: 'private-' } }));
});

test('encrypted trigger: same ciphertext as the official SDK for the same nonce, and it decrypts', async (t) => {
  const nonce = new Uint8Array(24).fill(9);
  t.mock.method(nacl, 'randomBytes', () => nonce);
  t.mock.method(globalThis.crypto, 'getRandomValues', <T extends ArrayBufferView | null>(array: T) => {
    (array as unknown as Uint8Array).set(nonce);
    return array;
  });
  await compare(
    t,
    'encrypted',
    () => theirs.trigger('private-encrypted-x', 'secret-event', { card: '4111', note: 'ü' }),
    () => ours.triggerEvent({ channel: 'private-encrypted-x', event: 'secret-event', data: { card: '4111', note: 'ü' } }),
  );
  t.mock.restoreAll();

  const fresh = await capture(() => ours.triggerEvent({ channel: 'private-encrypted-x', event: 'e', data: 'just a string' }));
  const payload = JSON.parse(JSON.parse(fresh.body).data) as { nonce: string; ciphertext: string };
  const sharedSecret = (theirs as unknown as { channelSharedSecret(channel: string): Uint8Array }).channelSharedSecret('private-encrypted-x');
  const opened = nacl.secretbox.open(Buffer.from(payload.ciphertext, 'base64'), Buffer.from(payload.nonce, 'base64'), sharedSecret);
  assert.ok(opened, 'decrypts with the official shared secret');
  assert.equal(Buffer.from(opened).toString('utf8'), '"just a string"');
});
