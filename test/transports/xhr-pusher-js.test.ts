/**
 * pusher-js's HTTP fallback transports against Herald, with the stock Node build of pusher-js:
 * `enabledTransports: ['xhr_streaming']`, `['xhr_polling']`, and the default strategy while the
 * WebSocket port is unreachable. Every Channels feature behaves as over a WebSocket.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import type Pusher from 'pusher';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import type { PusherJs } from '../helpers/pusher-js.js';
import { eventually, nextEvent, withTimeout } from '../helpers/wait.js';
import { authorizedClient, signedIn, subscribed, type AuthorizedClientOptions } from '../channels/authorized-clients.js';

const masterKey = randomBytes(32).toString('base64');
let h: TestHerald;
let server: Pusher;

before(async () => {
  h = await startTestHerald();
  server = h.pusherServer({ encryptionMasterKeyBase64: masterKey });
});
after(() => h.stop());

/** The transport pusher-js actually connected with. */
function transportOf(client: PusherJs): string | undefined {
  const connection = (client.connection as unknown as { connection?: { name?: string; transport?: { name?: string } } }).connection;
  return connection?.transport?.name ?? connection?.name;
}

function client(transport: string | undefined, spec: AuthorizedClientOptions = {}): PusherJs {
  return authorizedClient(h, server, {
    ...spec,
    options: { httpHost: '127.0.0.1', httpPort: h.port, enabledTransports: transport ? [transport] : undefined, ...spec.options },
  });
}

async function connectedVia(c: PusherJs, transport: string): Promise<void> {
  if (c.connection.state !== 'connected') await nextEvent(c.connection, 'connected', 15_000);
  assert.equal(transportOf(c), transport);
}

for (const transport of ['xhr_streaming', 'xhr_polling']) {
  describe(`pusher-js over ${transport}`, () => {
    test('connects and receives API events on public, private, encrypted and cache channels', async () => {
      const c = client(transport);
      await connectedVia(c, transport);
      const pub = await subscribed(c, `pub-${transport}`);
      const priv = await subscribed(c, `private-${transport}`);
      const enc = await subscribed(c, `private-encrypted-${transport}`);
      const received = Promise.all([nextEvent(pub, 'e'), nextEvent(priv, 'e'), nextEvent(enc, 'e')]);
      await server.trigger(`pub-${transport}`, 'e', { n: 1 });
      await server.trigger(`private-${transport}`, 'e', { n: 2 });
      await server.trigger(`private-encrypted-${transport}`, 'e', { n: 3 });
      assert.deepEqual(await received, [{ n: 1 }, { n: 2 }, { n: 3 }]);

      await server.trigger(`cache-${transport}`, 'last', { n: 4 });
      const cache = c.subscribe(`cache-${transport}`);
      assert.deepEqual(await nextEvent(cache, 'last'), { n: 4 });
      c.disconnect();
    });

    test('presence members and client events between an HTTP client and a WebSocket client', async () => {
      const viaHttp = client(transport, { presence: { user_id: 'http-user', user_info: { t: transport } } });
      const viaWs = authorizedClient(h, server, { presence: { user_id: 'ws-user' } });
      await connectedVia(viaHttp, transport);
      const channelName = `presence-${transport}`;
      const httpChannel = await subscribed(viaHttp, channelName);
      const joined = nextEvent<{ id: string }>(httpChannel, 'pusher:member_added');
      const wsChannel = await subscribed(viaWs, channelName);
      assert.equal((await joined).id, 'ws-user');
      assert.equal((wsChannel as unknown as { members: { count: number } }).members.count, 2);

      const atWs = nextEvent(wsChannel, 'client-hello');
      assert.equal(httpChannel.trigger('client-hello', { from: 'http' }), true);
      assert.deepEqual(await atWs, { from: 'http' });
      const atHttp = nextEvent(httpChannel, 'client-hello');
      wsChannel.trigger('client-hello', { from: 'ws' });
      assert.deepEqual(await atHttp, { from: 'ws' });

      const left = nextEvent<{ id: string }>(wsChannel, 'pusher:member_removed', 15_000);
      viaHttp.disconnect();
      assert.equal((await left).id, 'http-user', 'the session times out and the member leaves');
      viaWs.disconnect();
    });

    test('signs in and receives events sent to the user', async () => {
      const c = client(transport, { user: { id: `user-${transport}` } });
      await connectedVia(c, transport);
      await signedIn(c);
      const got = new Promise((resolve) => c.user.bind('note', resolve));
      // The #server-to-user channel subscription completes after signin_success.
      const userChannel = (c.user as unknown as { serverToUserChannel: { subscribed: boolean; bind: PusherJs['bind'] } }).serverToUserChannel;
      if (!userChannel.subscribed) await nextEvent(userChannel as never, 'pusher:subscription_succeeded');
      await server.sendToUser(`user-${transport}`, 'note', { hi: 1 });
      assert.deepEqual(await withTimeout(got, 5000, 'user event'), { hi: 1 });
      c.disconnect();
    });

    test('reconnects after the server closes the session with 4200 and resubscribes', async () => {
      const c = client(transport);
      await connectedVia(c, transport);
      const channel = await subscribed(c, `again-${transport}`);
      const firstId = c.connection.socket_id;
      const reconnected = nextEvent(c.connection, 'connected', 15_000);
      h.herald.engine.closeAll(4200, 'Reconnect please');
      await reconnected;
      assert.notEqual(c.connection.socket_id, firstId);
      assert.equal(transportOf(c), transport);
      await nextEvent(channel, 'pusher:subscription_succeeded');
      const got = nextEvent(channel, 'e');
      await server.trigger(`again-${transport}`, 'e', { after: 'reconnect' });
      assert.deepEqual(await got, { after: 'reconnect' });
      c.disconnect();
    });
  });
}

test('xhr_streaming: past 256 KiB pusher-js opens a new stream, and no event is lost in between', async (t) => {
  const c = client('xhr_streaming');
  t.after(() => c.disconnect());
  await connectedVia(c, 'xhr_streaming');
  const socketId = c.connection.socket_id;
  const channel = await subscribed(c, 'long-stream');
  const received: number[] = [];
  channel.bind('e', (data: { i: number }) => received.push(data.i));
  const states: string[] = [];
  c.connection.bind('state_change', (s: { current: string }) => states.push(s.current));
  // ~9 KB events, one after the other: the stream crosses pusher-js's 256 KiB reopen limit
  // (HTTPRequest's MAX_BUFFER_LENGTH) while the next events are being published.
  const padding = 'x'.repeat(9000);
  const count = 40;
  for (let i = 0; i < count; i++) await server.trigger('long-stream', 'e', { i, padding });
  // Waits for all of them; a lost one shows in the comparison below (which names it).
  await eventually(() => received.length >= count, 10_000).catch(() => undefined);
  assert.deepEqual(received, Array.from({ length: count }, (_, i) => i), 'every event, in order');
  assert.equal(c.connection.socket_id, socketId, 'the same session throughout');
  assert.deepEqual(states, [], 'no reconnection');
});

test('the default strategy falls back to xhr_streaming while the WebSocket port is unreachable', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const deadPort = (closed.address() as { port: number }).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const c = client(undefined, { options: { wsPort: deadPort } });
  await connectedVia(c, 'xhr_streaming');
  const channel = await subscribed(c, 'fallback-default');
  const got = nextEvent(channel, 'e');
  await server.trigger('fallback-default', 'e', { via: 'fallback' });
  assert.deepEqual(await got, { via: 'fallback' });
  c.disconnect();
});

test('metrics count open connections by transport', async () => {
  const gauge = async (transport: string) => {
    const text = await (await fetch(`${h.httpUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`herald_transport_connections{transport="${transport}"}`));
    return Number(line?.split(' ').at(-1));
  };
  // Sessions of clients that disconnected earlier end at once instead of at their idle timeout.
  h.herald.engine.closeAll(4200, 'Start from zero');
  await eventually(async () => (await gauge('xhr_streaming')) === 0 && (await gauge('xhr_polling')) === 0, 5000, 'no HTTP sessions');
  const beforeStreaming = 0;
  const beforePolling = 0;
  const streaming = client('xhr_streaming');
  const polling = client('xhr_polling');
  await connectedVia(streaming, 'xhr_streaming');
  await connectedVia(polling, 'xhr_polling');
  assert.equal(await gauge('xhr_streaming'), beforeStreaming + 1);
  assert.equal(await gauge('xhr_polling'), beforePolling + 1);
  assert.ok((await gauge('ws')) >= 0);
  streaming.disconnect();
  polling.disconnect();
});

