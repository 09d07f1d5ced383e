/**
 * Laravel Echo (with stock pusher-js) as a Laravel app uses it, against Herald: Echo's options for
 * Pusher-compatible servers, channel authorization through a real HTTP auth endpoint answering as
 * Laravel's /broadcasting/auth does (the `pusher` SDK's signatures; presence user ids are numbers,
 * as Laravel's are), and the server side as Laravel broadcasts (event names with backslashes,
 * `toOthers()` = the `pusher` SDK's socket_id set to Echo.socketId()). Configuration migrated from
 * Pusher, Reverb and Soketi is covered by test/cli/migrating.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import Echo from 'laravel-echo';
import type Pusher from 'pusher';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { PusherJs } from '../helpers/pusher-js.js';
import { withTimeout } from '../helpers/wait.js';

const masterKey = randomBytes(32).toString('base64');
let h: TestHerald;
let sdk: Pusher;
let auth: Server;
let authUrl = '';

/** Laravel's /broadcasting/auth: form body in, the SDK's JSON out; X-User says who is logged in. */
function laravelAuth(body: string, user: number): unknown {
  const form = new URLSearchParams(body);
  const socketId = form.get('socket_id')!;
  const channel = form.get('channel_name')!;
  if (channel.endsWith('.forbidden')) return sdk.authorizeChannel(socketId, `${channel}-not-this-one`);
  if (!channel.startsWith('presence-')) return sdk.authorizeChannel(socketId, channel);
  return sdk.authorizeChannel(socketId, channel, { user_id: user as unknown as string, user_info: { id: user, name: `User ${user}` } });
}

before(async () => {
  h = await startTestHerald();
  sdk = h.pusherServer({ encryptionMasterKeyBase64: masterKey });
  auth = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(laravelAuth(body, Number(req.headers['x-user']))));
    });
  });
  await new Promise<void>((resolve) => auth.listen(0, '127.0.0.1', resolve));
  authUrl = `http://127.0.0.1:${(auth.address() as { port: number }).port}/broadcasting/auth`;
});
after(async () => {
  await h.stop();
  await new Promise((resolve) => auth.close(resolve));
});

/** resources/js/echo.js for a Pusher-compatible server, logged in as `user`. */
function echo(user: number, broadcaster: 'pusher' | 'reverb' = 'pusher'): Echo<'pusher'> {
  const client = new Echo({
    broadcaster,
    key: h.app.key,
    cluster: 'mt1',
    wsHost: '127.0.0.1',
    wsPort: h.port,
    wssPort: h.port,
    forceTLS: false,
    enabledTransports: ['ws', 'wss'],
    disableStats: true,
    authEndpoint: authUrl,
    auth: { headers: { 'X-User': String(user) } },
    Pusher: PusherJs,
  } as ConstructorParameters<typeof Echo<'pusher'>>[0]);
  return client as Echo<'pusher'>;
}

function subscribedTo(channel: { subscribed(cb: () => void): unknown }): Promise<void> {
  return withTimeout(new Promise<void>((resolve) => channel.subscribed(resolve)), 5000, 'Echo subscription');
}

function next<T>(register: (cb: (value: T) => void) => unknown, what: string): Promise<T> {
  return withTimeout(new Promise<T>((resolve) => register(resolve)), 5000, what);
}

test('private channels: whisper/listenForWhisper, notification(), and toOthers() excludes Echo.socketId()', async (t) => {
  const alice = echo(1);
  const bob = echo(2);
  t.after(() => (alice.disconnect(), bob.disconnect()));
  const a = alice.private('App.Models.User.1');
  const b = bob.private('App.Models.User.1');
  await Promise.all([subscribedTo(a), subscribedTo(b)]);

  const whisper = next((cb) => b.listenForWhisper('typing', cb), 'whisper');
  a.whisper('typing', { name: 'Alice' });
  assert.deepEqual(await whisper, { name: 'Alice' });

  const notification = next((cb) => b.notification(cb), 'notification');
  await sdk.trigger('private-App.Models.User.1', 'Illuminate\\Notifications\\Events\\BroadcastNotificationCreated', { id: 'n1', type: 'App\\Notifications\\Shipped' });
  assert.deepEqual(await notification, { id: 'n1', type: 'App\\Notifications\\Shipped' });

  // broadcast(new OrderShipped)->toOthers(): the request's X-Socket-ID becomes the SDK's socket_id.
  const atAlice: unknown[] = [];
  a.listen('OrderShipped', (e: unknown) => atAlice.push(e));
  const atBob = next((cb) => b.listen('OrderShipped', cb), 'OrderShipped');
  await sdk.trigger('private-App.Models.User.1', 'App\\Events\\OrderShipped', { order: 1 }, { socket_id: alice.socketId() });
  await sdk.triggerBatch([{ channel: 'private-App.Models.User.1', name: 'App\\Events\\OrderShipped', data: { order: 2 }, socket_id: alice.socketId() } as Pusher.BatchEvent]);
  assert.deepEqual(await atBob, { order: 1 });
  const last = next((cb) => a.listen('Done', cb), 'Done');
  await sdk.trigger('private-App.Models.User.1', 'App\\Events\\Done', {});
  await last;
  assert.deepEqual(atAlice, [], 'the sender\'s socket got neither event');
});

test('presence channels: here, joining, leaving and whispers with numeric user ids; leave() unsubscribes', async (t) => {
  const alice = echo(1);
  const bob = echo(2);
  t.after(() => (alice.disconnect(), bob.disconnect()));
  const a = alice.join('chat.1');
  assert.deepEqual(await next((cb) => a.here(cb), 'here (alice)'), [{ id: 1, name: 'User 1' }]);

  const joining = next((cb) => a.joining(cb), 'joining');
  const b = bob.join('chat.1');
  const bobHere = next<Array<{ id: number }>>((cb) => b.here(cb), 'here (bob)');
  assert.deepEqual(await joining, { id: 2, name: 'User 2' });
  assert.deepEqual((await bobHere).map((m) => m.id).sort(), [1, 2]);

  const whisper = next((cb) => a.listenForWhisper('typing', cb), 'whisper');
  b.whisper('typing', { name: 'Bob' });
  assert.deepEqual(await whisper, { name: 'Bob' });

  const leaving = next((cb) => a.leaving(cb), 'leaving');
  bob.leave('chat.1');
  assert.deepEqual(await leaving, { id: 2, name: 'User 2' });
  const info = await h.pusherServer().get({ path: '/channels/presence-chat.1/users' });
  assert.deepEqual(((await info.json()) as { users: Array<{ id: string }> }).users, [{ id: '1' }]);
});

test('encryptedPrivate: the SDK encrypts, Echo (pusher-js Node build) decrypts', async (t) => {
  const alice = echo(1);
  t.after(() => alice.disconnect());
  const channel = alice.encryptedPrivate('orders.7');
  await subscribedTo(channel);
  const got = next((cb) => channel.listen('.paid', cb), 'encrypted event');
  await sdk.trigger('private-encrypted-orders.7', 'paid', { total: 12 });
  assert.deepEqual(await got, { total: 12 });
});

test('reverb broadcaster: a refused authorization reaches error() as {type: "AuthError", status: 401}; the socket stays; leaveChannel and rejoin', async (t) => {
  const alice = echo(1, 'reverb');
  t.after(() => alice.disconnect());
  const channel = alice.private('App.Models.User.1.forbidden');
  const error = await next<{ type: string; status: number }>((cb) => channel.error(cb), 'error()');
  assert.equal(error.type, 'AuthError');
  assert.equal(error.status, 401);
  const pusher = (alice.connector as unknown as { pusher: PusherJs }).pusher;
  const socketId = pusher.connection.socket_id;
  // leaveChannel, then the same channel again: a new subscription on the same socket.
  await subscribedTo(alice.channel('room'));
  alice.leaveChannel('room');
  await subscribedTo(alice.channel('room'));
  assert.equal(pusher.connection.state, 'connected');
  assert.equal(pusher.connection.socket_id, socketId);
});
