/**
 * Subscriptions over graphql-ws (the `graphql-ws` client with the `ws` WebSocket), fed live by the
 * engine serving stock pusher-js clients and the stock `pusher` SDK; plus queries and mutations
 * over the socket, and its authentication.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type Pusher from 'pusher';
import { parseApp } from '../../src/apps/app.js';
import type { MemoryAppRegistry } from '../../src/apps/registry.js';
import type { TestHerald } from '../helpers/herald.js';
import type { PusherJs } from '../helpers/pusher-js.js';
import { RawClient } from '../helpers/raw-client.js';
import { nextEvent, withTimeout } from '../helpers/wait.js';
import { ADMIN, basic, connected, startGraphqlHerald, subscribe, wsClient } from './support.js';

let h: TestHerald;
let sdk: Pusher;

before(async () => {
  h = await startGraphqlHerald({
    config: { webhookVacateDelayMs: 200 },
    apps: [
      { id: 'tight-app', key: 'tight-key', secret: 'tight-secret-1', limits: { maxConnections: 1 } },
      { id: 'rotating-app', key: 'rotating-key', secret: 'rotating-secret-1' },
    ],
  });
  sdk = h.pusherServer();
});
after(() => h.stop());

/** pusher-js whose private/presence authorization comes from the stock pusher SDK. */
function authorizedClient(user: { user_id: string; user_info?: Record<string, unknown> }): PusherJs {
  return h.pusherClient({
    channelAuthorization: {
      customHandler: (p: { socketId: string; channelName: string }, cb: (err: Error | null, data: unknown) => void) =>
        cb(null, sdk.authorizeChannel(p.socketId, p.channelName, p.channelName.startsWith('presence-') ? user : undefined)),
    },
  });
}

async function subscribed(client: PusherJs, name: string) {
  const channel = client.subscribe(name);
  await nextEvent(channel, 'pusher:subscription_succeeded', 10_000);
  return channel;
}

test('channelEvents receives events triggered by the stock pusher SDK and client events from pusher-js', async () => {
  const client = wsClient(h);
  const alice = authorizedClient({ user_id: 'alice' });
  try {
    const live = await subscribe(h, client, `subscription { channelEvents(channel: "private-chat") { channel name source at data { raw json } } }`);
    const filtered = await subscribe(h, client, `subscription { channelEvents(channel: "private-chat", events: ["wanted"]) { name } }`);

    await sdk.trigger('private-chat', 'greeting', { hello: 'world' });
    const first = await live.next();
    assert.equal(first.errors, undefined);
    assert.equal(first.data.channelEvents.channel, 'private-chat');
    assert.equal(first.data.channelEvents.name, 'greeting');
    assert.equal(first.data.channelEvents.source, 'api');
    assert.deepEqual(first.data.channelEvents.data.json, { hello: 'world' });
    assert.ok(!Number.isNaN(Date.parse(first.data.channelEvents.at)));

    const channel = await subscribed(alice, 'private-chat');
    assert.ok(channel.trigger('client-typing', { who: 'alice' }));
    const typing = await live.next();
    assert.equal(typing.data.channelEvents.name, 'client-typing');
    assert.equal(typing.data.channelEvents.source, 'client');
    assert.equal(typing.data.channelEvents.data.raw, '{"who":"alice"}');

    await sdk.trigger('private-chat', 'wanted', 1);
    assert.deepEqual((await filtered.next()).data, { channelEvents: { name: 'wanted' } });
    await live.stop();
    await filtered.stop();
  } finally {
    alice.disconnect();
    await client.dispose();
  }
});

test('channelEvents: data nested deeper than 100 levels arrives with json null, and the subscription goes on', async () => {
  const client = wsClient(h);
  try {
    const live = await subscribe(h, client, `subscription { channelEvents(channel: "deep-data") { name data { raw json } } }`);
    // A data string (anyone who may publish, a client event included, can send one): 4000 levels
    // fit the 10 KiB payload limit, and answering them as JSON overflowed the stack (INTERNAL, subscription ended).
    const deep = '['.repeat(4000) + ']'.repeat(4000);
    await sdk.trigger('deep-data', 'deep', deep);
    const first = await live.next();
    assert.equal(first.errors, undefined, JSON.stringify(first.errors));
    assert.deepEqual(first.data.channelEvents, { name: 'deep', data: { raw: deep, json: null } });
    await sdk.trigger('deep-data', 'after', { ok: true });
    assert.deepEqual((await live.next()).data.channelEvents, { name: 'after', data: { raw: '{"ok":true}', json: { ok: true } } });
    await live.stop();
  } finally {
    await client.dispose();
  }
});

test('presenceMemberEvents sees a pusher-js join and leave', async () => {
  const client = wsClient(h);
  const bob = authorizedClient({ user_id: 'bob', user_info: { name: 'Bob' } });
  try {
    const live = await subscribe(h, client, `subscription { presenceMemberEvents(channel: "presence-room") { type channel at member { id info } } }`);
    await subscribed(bob, 'presence-room');
    const joined = (await live.next()).data.presenceMemberEvents;
    assert.equal(joined.type, 'MEMBER_ADDED');
    assert.equal(joined.channel, 'presence-room');
    assert.deepEqual(joined.member, { id: 'bob', info: { name: 'Bob' } });
    bob.unsubscribe('presence-room');
    const left = (await live.next()).data.presenceMemberEvents;
    assert.equal(left.type, 'MEMBER_REMOVED');
    assert.equal(left.member.id, 'bob');
    await live.stop();
  } finally {
    bob.disconnect();
    await client.dispose();
  }
});

test('connectionStateChanged reports connections opening, closing and being refused', async () => {
  const client = wsClient(h);
  const tight = wsClient(h, basic('tight-key', 'tight-secret-1'));
  try {
    const live = await subscribe(h, client, `subscription { connectionStateChanged { appId state previousState at connection { socketId appId state } data { closeCode reason remoteAddress } } }`);
    const pusher = h.pusherClient();
    const socketId = await connected(pusher);
    const opened = (await live.next()).data.connectionStateChanged;
    assert.equal(opened.state, 'CONNECTED');
    assert.equal(opened.previousState, 'CONNECTING');
    assert.equal(opened.appId, h.app.id);
    assert.deepEqual(opened.connection, { socketId, appId: h.app.id, state: 'CONNECTED' });
    // The peer's address, read from the socket handle (not socket.remoteAddress, see websocket.ts).
    assert.equal(opened.data.remoteAddress, '127.0.0.1');
    pusher.disconnect();
    const closed = (await live.next()).data.connectionStateChanged;
    assert.equal(closed.state, 'DISCONNECTED');
    assert.equal(closed.previousState, 'CONNECTED');
    assert.equal(closed.connection.socketId, socketId);
    assert.equal(closed.data.remoteAddress, '127.0.0.1');

    // tight-app admits one connection: the second is refused (4004) and reported as FAILED.
    const refusedLive = await subscribe(h, tight, `subscription { connectionStateChanged { state connection { socketId } data { closeCode reason } } }`);
    const first = await RawClient.established(h.wsUrl, 'tight-key');
    assert.equal((await refusedLive.next()).data.connectionStateChanged.state, 'CONNECTED');
    const second = await RawClient.connect(`${h.wsUrl}/app/tight-key?protocol=7&client=js&version=8.6.0`);
    const failed = (await refusedLive.next()).data.connectionStateChanged;
    assert.deepEqual(failed, { state: 'FAILED', connection: null, data: { closeCode: 4004, reason: 'Application is over connection quota' } });
    await second.closed;
    first.close();
    await live.stop();
    await refusedLive.stop();
  } finally {
    await client.dispose();
    await tight.dispose();
  }
});

test('webhookEvents streams the app webhook events with Pusher rules, typed per kind', async () => {
  const client = wsClient(h);
  const carol = authorizedClient({ user_id: 'carol' });
  try {
    const live = await subscribe(
      h,
      client,
      `subscription { webhookEvents(channelPrefix: "presence-hooks") {
        appId timeMs
        events { __typename name channel ... on MemberWebhook { userId } ... on EventWebhook { event data socketId userId } ... on ChannelWebhook { subscriptionCount } }
      } }`,
    );
    const onlyVacated = await subscribe(h, client, `subscription { webhookEvents(types: [CHANNEL_VACATED]) { events { name channel } } }`);

    const socketId = await connected(carol);
    const channel = await subscribed(carol, 'presence-hooks');
    const names: string[] = [];
    const byName = new Map<string, any>();
    for (let i = 0; i < 2; i++) {
      const event = (await live.next()).data.webhookEvents;
      assert.equal(event.appId, h.app.id);
      assert.equal(typeof event.timeMs, 'number');
      names.push(event.events[0].name);
      byName.set(event.events[0].name, event.events[0]);
    }
    assert.deepEqual(names.sort(), ['CHANNEL_OCCUPIED', 'MEMBER_ADDED']);
    assert.deepEqual(byName.get('MEMBER_ADDED'), { __typename: 'MemberWebhook', name: 'MEMBER_ADDED', channel: 'presence-hooks', userId: 'carol' });
    assert.equal(byName.get('CHANNEL_OCCUPIED').__typename, 'ChannelWebhook');

    channel.trigger('client-note', { x: 1 });
    const clientEvent = (await live.next()).data.webhookEvents.events[0];
    assert.deepEqual(clientEvent, {
      __typename: 'EventWebhook',
      name: 'CLIENT_EVENT',
      channel: 'presence-hooks',
      event: 'client-note',
      data: '{"x":1}',
      socketId,
      userId: 'carol',
    });

    // Leaving: member_removed and channel_vacated wait out the vacate delay, then arrive.
    carol.unsubscribe('presence-hooks');
    const leaving = [(await live.next()).data.webhookEvents.events[0].name, (await live.next()).data.webhookEvents.events[0].name];
    assert.deepEqual(leaving.sort(), ['CHANNEL_VACATED', 'MEMBER_REMOVED']);
    assert.deepEqual((await onlyVacated.next()).data.webhookEvents.events, [{ name: 'CHANNEL_VACATED', channel: 'presence-hooks' }]);
    await live.stop();
    await onlyVacated.stop();
  } finally {
    carol.disconnect();
    await client.dispose();
  }
});

test('queries and mutations also run over the socket; scoping holds there too', async () => {
  const client = wsClient(h);
  const pusher = h.pusherClient();
  try {
    const channel = await subscribed(pusher, 'ws-news');
    const received = nextEvent<unknown>(channel, 'flash');
    const result = await withTimeout(
      new Promise<any>((resolve, reject) => {
        let value: unknown;
        client.subscribe(
          { query: `mutation { triggerEvent(input: {name: "flash", data: {ok: true}, channels: ["ws-news"]}) { name channels { occupancy { subscriptionCount } } } }` },
          { next: (v) => (value = v), error: reject, complete: () => resolve(value) },
        );
      }),
      5000,
      'the mutation result',
    );
    assert.deepEqual(result.data.triggerEvent, { name: 'flash', channels: [{ occupancy: { subscriptionCount: 1 } }] });
    assert.deepEqual(await received, { ok: true });

    const forbidden = await subscribe(h, client, `subscription { connectionStateChanged(appId: "tight-app") { state } }`);
    const refusal = await forbidden.next();
    assert.equal(refusal.errors?.[0]?.extensions?.code, 'FORBIDDEN');

    const tooDeep = client.iterate({ query: '{ app { stats { today { days { days { days { days { days { days { days { days { messages } } } } } } } } } } } }' });
    await assert.rejects(tooDeep.next(), (errors: unknown) => Array.isArray(errors) && /too deep/.test(errors[0].message));
  } finally {
    pusher.disconnect();
    await client.dispose();
  }
});

test('the admin token works over the socket with appId; bad credentials close it with 4403', async () => {
  const admin = wsClient(h, ADMIN);
  const anonymous = wsClient(h, null);
  const wrong = wsClient(h, basic(h.app.key, 'wrong-secret'));
  try {
    const live = await subscribe(h, admin, `subscription($id: ID) { channelEvents(appId: $id, channel: "admin-watch") { name } }`, { id: h.app.id });
    await sdk.trigger('admin-watch', 'seen', {});
    assert.deepEqual((await live.next()).data, { channelEvents: { name: 'seen' } });
    await live.stop();

    for (const client of [anonymous, wrong]) {
      const iterator = client.iterate({ query: '{ cluster { name } }' });
      await assert.rejects(withTimeout(iterator.next(), 5000, 'the socket to close'), (event: { code?: number }) => event.code === 4403);
    }
  } finally {
    await admin.dispose();
    await anonymous.dispose();
    await wrong.dispose();
  }
});

test('rotating an app secret closes its sockets authenticated with the old one', async () => {
  let closeCode: number | undefined;
  const closedOnce = new Promise<void>((resolve) => {
    const client = wsClient(h, basic('rotating-key', 'rotating-secret-1'), (event) => {
      closeCode = (event as { code: number }).code;
      resolve();
    });
    void subscribe(h, client, `subscription { connectionStateChanged { state } }`).then(() => {
      // Every worker applies the change (as the admin API has them do); the socket is on one of them.
      for (const herald of h.heralds) (herald.apps as MemoryAppRegistry).put(parseApp({ id: 'rotating-app', key: 'rotating-key', secret: 'rotating-secret-2' }));
    });
  });
  await withTimeout(closedOnce, 5000, 'the socket to close');
  assert.equal(closeCode, 4403);
});
