/**
 * Client events between stock pusher-js clients (spec A.6). The refusals (channel kinds, not
 * subscribed, disabled, size, rate limit) are unit-tested in client-events-unit.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type Pusher from 'pusher';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { RawClient } from '../helpers/raw-client.js';
import { nextEvent, withTimeout } from '../helpers/wait.js';

let h: TestHerald;
let server: Pusher;
before(async () => {
  h = await startTestHerald();
  server = h.pusherServer();
});
after(async () => {
  await h.stop();
});

function client(user?: string) {
  const sdk = h.pusherServer();
  return h.pusherClient({
    channelAuthorization: {
      customHandler: (p: { socketId: string; channelName: string }, cb: (e: Error | null, a: unknown) => void) =>
        cb(null, sdk.authorizeChannel(p.socketId, p.channelName, user ? { user_id: user, user_info: { n: user } } : undefined)),
    },
  });
}

test('client event on a private channel reaches the others, not the sender', async () => {
  const a = client();
  const b = client();
  const chA = a.subscribe('private-chat');
  const chB = b.subscribe('private-chat');
  await Promise.all([nextEvent(chA, 'pusher:subscription_succeeded'), nextEvent(chB, 'pusher:subscription_succeeded')]);
  let echoed = false;
  chA.bind('client-typing', () => (echoed = true));
  const got = nextEvent(chB, 'client-typing');
  assert.equal(chA.trigger('client-typing', { who: 'a' }), true);
  assert.deepEqual(await got, { who: 'a' });
  // A follow-up round trip proves the sender had its chance to receive an echo.
  const back = nextEvent(chA, 'client-ack');
  chB.trigger('client-ack', {});
  await back;
  assert.equal(echoed, false);
  a.disconnect();
  b.disconnect();
});

test('client event on a presence channel carries the sender user_id', async () => {
  const a = client('alice');
  const b = client('bob');
  const chA = a.subscribe('presence-lobby');
  const chB = b.subscribe('presence-lobby');
  await Promise.all([nextEvent(chA, 'pusher:subscription_succeeded'), nextEvent(chB, 'pusher:subscription_succeeded')]);
  const got = new Promise<[unknown, { user_id: string }]>((resolve) => chB.bind('client-wave', (data: unknown, meta: { user_id: string }) => resolve([data, meta])));
  chA.trigger('client-wave', { hi: 1 });
  const [data, meta] = await withTimeout(got, 5000, 'client-wave');
  assert.deepEqual(data, { hi: 1 });
  assert.equal(meta.user_id, 'alice');
  a.disconnect();
  b.disconnect();
});

test('bad frames get pusher:error and the socket stays usable', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  const bad = ['not json', '[]', '{"event":5}', '{"no":"event"}', '{"event":"pusher_internal:member_added","data":{}}', '{"event":"pusher:connection_established"}', '{"event":"random-event","data":{}}', '{"event":"pusher:subscribe","data":"garbage"}', '{"event":"pusher:unsubscribe","data":{}}', 'x'.repeat(20_000)];
  for (const frame of bad) {
    raw.send(frame);
    const error = await raw.waitEvent('pusher:error');
    assert.equal(error.data.code, 4300, frame.slice(0, 40));
    assert.ok(error.data.message.length > 0);
  }
  raw.ws.send(Buffer.from([1, 2, 3]), { binary: true });
  assert.match((await raw.waitEvent('pusher:error')).data.message, /Binary/);
  raw.send({ event: 'pusher:subscribe', data: { channel: 'still-works' } });
  await raw.waitEvent('pusher_internal:subscription_succeeded', 'still-works');
  raw.close();
});

test('socket_id exclusion: the SDK trigger skips the given socket', async () => {
  const a = h.pusherClient();
  const b = h.pusherClient();
  const chA = a.subscribe('excl');
  const chB = b.subscribe('excl');
  await Promise.all([nextEvent(chA, 'pusher:subscription_succeeded'), nextEvent(chB, 'pusher:subscription_succeeded')]);
  let aGot = 0;
  chA.bind('ev', () => aGot++);
  const bGot = nextEvent(chB, 'ev');
  await server.trigger('excl', 'ev', { n: 1 }, { socket_id: a.connection.socket_id });
  await bGot;
  const aSecond = nextEvent(chA, 'ev2');
  await server.trigger('excl', 'ev2', {});
  await aSecond;
  assert.equal(aGot, 0);
  a.disconnect();
  b.disconnect();
});
