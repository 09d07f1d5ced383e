/**
 * User authentication through the real clients: pusher:signin, send-to-user, terminate
 * connections, authorized connections (4009). Which sockets the deadline spares, watchlists and
 * the engine's side of send-to-user and terminate are unit-tested (authorized-connections-unit,
 * users-unit).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type Pusher from 'pusher';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { PusherJs } from '../helpers/pusher-js.js';
import { RawClient } from '../helpers/raw-client.js';
import { nextEvent } from '../helpers/wait.js';
import { authorizedClient, closeCode, signedIn, subscribed } from './authorized-clients.js';

const strict = { id: 'strict-app', key: 'strict-key', secret: 'strict-secret', userAuthentication: { required: true, timeoutMs: 300 } };
let h: TestHerald;
let server: Pusher;

before(async () => {
  h = await startTestHerald({ apps: [strict] });
  server = h.pusherServer();
});
after(() => h.stop());

/** A sign-in frame signed by hand, for user_data the SDK itself would refuse to sign. */
function handSigned(raw: RawClient, userData: string) {
  const signature = createHmac('sha256', h.app.secret).update(`${raw.socketId}::user::${userData}`).digest('hex');
  return { event: 'pusher:signin', data: { auth: `${h.app.key}:${signature}`, user_data: userData } };
}

/** Raw sign-in with the SDK's signature; returns the frame the server answered with. */
async function rawSignIn(raw: RawClient, user: object) {
  const auth = server.authenticateUser(raw.socketId, user as Pusher.UserChannelData);
  raw.send({ event: 'pusher:signin', data: auth });
  return raw.waitFor((f) => f.event === 'pusher:signin_success' || f.event === 'pusher:error');
}

test('pusher-js signs in: signin_success echoes user_data and #server-to-user-{id} is subscribed', async () => {
  const client = authorizedClient(h, server, { user: { id: 'alice', user_info: { name: 'Alice' } } });
  await signedIn(client);
  const userChannel = (client.user as any).serverToUserChannel;
  assert.equal(userChannel.name, '#server-to-user-alice');
  if (!userChannel.subscribed) await nextEvent(userChannel, 'pusher:subscription_succeeded');
  assert.equal((client.user as any).user_data.id, 'alice');
  client.disconnect();
});

test('signin_success frame carries the exact signed user_data string', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  const frame = await rawSignIn(raw, { id: 'bob', watchlist: [] });
  assert.equal(frame.event, 'pusher:signin_success');
  assert.equal(frame.data.user_data, JSON.stringify({ id: 'bob', watchlist: [] }));
  raw.close();
});

test('signin_success carries the auth it answers, as seed 001 describes', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  const auth = server.authenticateUser(raw.socketId, { id: 'carol' });
  raw.send({ event: 'pusher:signin', data: auth });
  const frame = await raw.waitEvent('pusher:signin_success');
  assert.deepEqual(frame.data, { user_data: auth.user_data, auth: auth.auth });
  raw.close();
});

test('sign-in refusals: pusher:error 4009, the socket stays open', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  const userData = JSON.stringify({ id: 'mallory' });
  raw.send({ event: 'pusher:signin', data: { auth: `${h.app.key}:${'0'.repeat(64)}`, user_data: userData } });
  let error = await raw.waitEvent('pusher:error');
  assert.equal(error.data.code, 4009);
  assert.match(error.data.message, /^Invalid signature: Expected HMAC SHA256 hex digest of \d+\.\d+::user::\{"id":"mallory"\}/);

  raw.send({ event: 'pusher:signin', data: { auth: 'whatever' } });
  error = await raw.waitEvent('pusher:error');
  assert.deepEqual(error.data, { code: 4009, message: 'pusher:signin needs data.user_data (a JSON string)' });

  raw.send(handSigned(raw, JSON.stringify({ name: 'no id' })));
  error = await raw.waitEvent('pusher:error');
  assert.deepEqual(error.data, { code: 4009, message: 'user_data.id must be a non-empty string' });

  raw.send(handSigned(raw, 'not json'));
  error = await raw.waitEvent('pusher:error');
  assert.deepEqual(error.data, { code: 4009, message: 'user_data must be a JSON object' });

  raw.send(handSigned(raw, JSON.stringify({ id: 'u', watchlist: 'not-a-list' })));
  error = await raw.waitEvent('pusher:error');
  assert.deepEqual(error.data, { code: 4009, message: 'user_data.watchlist must be an array of user ids' });

  assert.equal((await rawSignIn(raw, { id: 'first' })).event, 'pusher:signin_success');
  error = await rawSignIn(raw, { id: 'second' });
  assert.deepEqual(error.data, { code: 4009, message: 'Connection is already signed in as a different user' });

  raw.send({ event: 'pusher:ping', data: {} });
  await raw.waitEvent('pusher:pong');
  assert.equal(raw.closeCode, undefined, 'refusals never close the socket');
  raw.close();
});

test('pusher-js emits pusher:error for a bad user signature', async () => {
  const client = h.pusherClient({
    userAuthentication: {
      customHandler: (p: { socketId: string }, cb: (e: Error | null, d: unknown) => void) =>
        cb(null, { auth: `${h.app.key}:${'a'.repeat(64)}`, user_data: JSON.stringify({ id: 'x' }) }),
    },
  });
  const error = nextEvent<{ code: number; message: string }>(client, 'pusher:error');
  client.signin();
  assert.equal((await error).code, 4009);
  client.disconnect();
});

test('#server-to-user-{id} cannot be subscribed without signing in as that user', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  raw.send({ event: 'pusher:subscribe', data: { channel: '#server-to-user-carol' } });
  const subError = await raw.waitEvent('pusher:subscription_error', '#server-to-user-carol');
  assert.equal(subError.data.status, 403);
  await rawSignIn(raw, { id: 'dave' });
  raw.send({ event: 'pusher:subscribe', data: { channel: '#server-to-user-carol' } });
  await raw.waitEvent('pusher:subscription_error', '#server-to-user-carol');
  raw.close();
});

test('sendToUser reaches every socket of that user and nobody else', async () => {
  const tab1 = authorizedClient(h, server, { user: { id: 'erin' } });
  const tab2 = authorizedClient(h, server, { user: { id: 'erin' } });
  const other = authorizedClient(h, server, { user: { id: 'frank' } });
  for (const c of [tab1, tab2, other]) await signedIn(c);
  for (const c of [tab1, tab2, other]) {
    const ch = (c.user as any).serverToUserChannel;
    if (!ch.subscribed) await nextEvent(ch, 'pusher:subscription_succeeded');
  }
  let otherGot = false;
  other.user.bind('notice', () => (otherGot = true));
  const got1 = nextEvent(tab1.user, 'notice');
  const got2 = nextEvent(tab2.user, 'notice');
  await server.sendToUser('erin', 'notice', { text: 'hi erin' });
  assert.deepEqual(await got1, { text: 'hi erin' });
  assert.deepEqual(await got2, { text: 'hi erin' });
  const marker = nextEvent(other.user, 'marker');
  await server.sendToUser('frank', 'marker', {});
  await marker;
  assert.equal(otherGot, false);
  for (const c of [tab1, tab2, other]) c.disconnect();
});

test('terminateUserConnections closes every socket of that user with 4009, others stay', async () => {
  const tab1 = authorizedClient(h, server, { user: { id: 'gina' } });
  const tab2 = authorizedClient(h, server, { user: { id: 'gina' } });
  const other = authorizedClient(h, server, { user: { id: 'hank' } });
  for (const c of [tab1, tab2, other]) await signedIn(c);
  const closed1 = closeCode(tab1);
  const closed2 = closeCode(tab2);
  const res = await server.terminateUserConnections('gina');
  assert.equal(res.status, 200);
  assert.equal(await closed1, 4009);
  assert.equal(await closed2, 4009);
  const pong = await subscribed(other, 'still-here');
  assert.ok(pong.subscribed);
  assert.equal(other.connection.state, 'connected');
  for (const c of [tab1, tab2, other]) c.disconnect();
});

test('terminateUserConnections with a user id the URL must percent-encode: the SDK signs it raw, Herald accepts the decoded path (B.1) and ends that user', async () => {
  // The SDK inserts the id unencoded and signs that path; fetch then sends `ren%C3%A9%20m`.
  const tab = authorizedClient(h, server, { user: { id: 'rené m' } });
  await signedIn(tab);
  const closed = closeCode(tab);
  const res = await server.terminateUserConnections('rené m');
  assert.equal(res.status, 200);
  assert.equal(await closed, 4009);
  tab.disconnect();
});

test('terminate_connections validates the user id (400)', async () => {
  const res = await server
    .post({ path: `/users/${'x'.repeat(200)}/terminate_connections`, body: {} as never })
    .catch((err: { status: number }) => err);
  assert.equal((res as { status: number }).status, 400);
});

test('userAuthentication.required: pusher-js that never authorizes is closed with 4009', async () => {
  const client = new PusherJs(strict.key, { cluster: 'local', wsHost: '127.0.0.1', wsPort: h.port, forceTLS: false, enabledTransports: ['ws'] });
  assert.equal(await closeCode(client, 10000), 4009);
  client.disconnect();
});

