/**
 * Channels over GraphQL: queries on live state made by stock pusher-js clients, triggerEvent /
 * triggerBatchEvents delivered to them (same rules and quotas as the REST API), and authorizeChannel
 * used as pusher-js's authorizer for private, presence and encrypted channels.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type Pusher from 'pusher';
import type { TestHerald } from '../helpers/herald.js';
import type { PusherJs } from '../helpers/pusher-js.js';
import { nextEvent } from '../helpers/wait.js';
import { ADMIN, basic, codeOf, connected, gql, gqlData, startGraphqlHerald } from './support.js';

const AUTHORIZE = `mutation Authorize($input: AuthorizeChannelInput!) {
  authorizeChannel(input: $input) {
    channel socketId channelType body
    token { auth channelData sharedSecret }
    private { auth sharedSecret }
    presence { auth channelData member { id info } }
  }
}`;

const masterKey = randomBytes(32).toString('base64');
let h: TestHerald;

before(async () => {
  h = await startGraphqlHerald({
    apps: [
      { id: 'quota-app', key: 'quota-key', secret: 'quota-secret-1', quotas: { dailyMessages: 1 } },
      { id: 'off-app', key: 'off-key', secret: 'off-secret-1', enabled: false },
    ],
  });
});
after(() => h.stop());

/** pusher-js whose channel authorization is answered by the GraphQL authorizeChannel mutation. */
function graphqlAuthorizedClient(user: { id: string; info?: Record<string, unknown> } = { id: 'u-1' }): PusherJs {
  return h.pusherClient({
    channelAuthorization: {
      customHandler: (params: { socketId: string; channelName: string }, cb: (err: Error | null, data: unknown) => void) => {
        const input: Record<string, unknown> = { socketId: params.socketId, channel: params.channelName };
        if (params.channelName.startsWith('presence-')) input.presenceMember = { userId: user.id, userInfo: user.info };
        if (params.channelName.startsWith('private-encrypted-')) input.encryptionMasterKeyBase64 = masterKey;
        gqlData(h, AUTHORIZE, { input }).then(
          (data) => cb(null, data.authorizeChannel.body),
          (err: Error) => cb(err, null),
        );
      },
    },
  });
}

async function subscribed(client: PusherJs, name: string) {
  const channel = client.subscribe(name);
  await nextEvent(channel, 'pusher:subscription_succeeded', 10_000);
  return channel;
}

test('authorizeChannel signs exactly like the pusher SDK, and pusher-js subscriptions succeed with it', async () => {
  const sdk = h.pusherServer({ encryptionMasterKeyBase64: masterKey });
  const privateAuth = (await gqlData(h, AUTHORIZE, { input: { socketId: '123.456', channel: 'private-foo' } })).authorizeChannel;
  assert.deepEqual(privateAuth.body, sdk.authorizeChannel('123.456', 'private-foo'));
  assert.equal(privateAuth.channelType, 'PRIVATE');
  assert.equal(privateAuth.presence, null);
  assert.equal(privateAuth.private.auth, privateAuth.token.auth);

  const presence = (await gqlData(h, AUTHORIZE, { input: { socketId: '123.456', channel: 'presence-foo', presenceMember: { userId: 'u1', userInfo: { name: 'A' } } } })).authorizeChannel;
  assert.deepEqual(presence.body, sdk.authorizeChannel('123.456', 'presence-foo', { user_id: 'u1', user_info: { name: 'A' } }));
  assert.deepEqual(presence.presence.member, { id: 'u1', info: { name: 'A' } });

  const encrypted = (await gqlData(h, AUTHORIZE, { input: { socketId: '123.456', channel: 'private-encrypted-foo', encryptionMasterKeyBase64: masterKey } })).authorizeChannel;
  assert.deepEqual(encrypted.body, sdk.authorizeChannel('123.456', 'private-encrypted-foo'));
  assert.equal(encrypted.channelType, 'ENCRYPTED');

  for (const [input, field] of [
    [{ socketId: '1.1', channel: 'public-room' }, 'channel'],
    [{ socketId: '1.1', channel: 'private-x', presenceMember: { userId: 'u' } }, 'presenceMember'],
    [{ socketId: '1.1', channel: 'private-encrypted-x' }, 'encryptionMasterKeyBase64'],
    [{ socketId: '1.1', channel: 'private-encrypted-x', encryptionMasterKeyBase64: 'c2hvcnQ=' }, 'encryptionMasterKeyBase64'],
    [{ socketId: '1.1', channel: 'bad channel!' }, 'channel'],
    [{ socketId: '1.1', channel: 'presence-x', presenceMember: { userId: 'x'.repeat(500) } }, 'presenceMember.userId'],
  ] as const) {
    const res = await gql(h, AUTHORIZE, { input });
    assert.equal(codeOf(res), 'BAD_USER_INPUT', JSON.stringify(input));
    assert.equal(res.body.errors![0]!.extensions!.field, field, JSON.stringify(input));
  }

  // Real subscriptions authorized through GraphQL, including decryption with the shared secret.
  const client = graphqlAuthorizedClient();
  await subscribed(client, 'private-room');
  await subscribed(client, 'presence-room');
  const encryptedChannel = await subscribed(client, 'private-encrypted-room');
  const decrypted = nextEvent<{ text: string }>(encryptedChannel, 'secret');
  await sdk.trigger('private-encrypted-room', 'secret', { text: 'only pusher-js can read this' });
  assert.deepEqual(await decrypted, { text: 'only pusher-js can read this' });
  client.disconnect();
});

test('authorizeChannel without presenceMember signs a presence channel for a signed-in pusher-js client', async () => {
  const sdk = h.pusherServer();
  const bare = (await gqlData(h, AUTHORIZE, { input: { socketId: '123.456', channel: 'presence-foo' } })).authorizeChannel;
  assert.deepEqual(bare.body, sdk.authorizeChannel('123.456', 'presence-foo'));
  assert.equal(bare.channelType, 'PRESENCE');
  assert.equal(bare.token.channelData, null);
  assert.equal(bare.presence, null);

  const client = h.pusherClient({
    userAuthentication: {
      customHandler: (params: { socketId: string }, cb: (err: Error | null, data: unknown) => void) =>
        cb(null, sdk.authenticateUser(params.socketId, { id: 'signed-in-user', user_info: { name: 'S' } })),
    },
    channelAuthorization: {
      customHandler: (params: { socketId: string; channelName: string }, cb: (err: Error | null, data: unknown) => void) => {
        gqlData(h, AUTHORIZE, { input: { socketId: params.socketId, channel: params.channelName } }).then(
          (data) => cb(null, data.authorizeChannel.body),
          (err: Error) => cb(err, null),
        );
      },
    },
  });
  await connected(client);
  client.signin();
  const room = await subscribed(client, 'presence-signed-in-room');
  assert.equal((room as unknown as { members: { me: { id: string } } }).members.me.id, 'signed-in-user');
  client.disconnect();
});

test('channels, channel and presenceChannelInfo report what pusher-js clients are doing', async () => {
  const alice = graphqlAuthorizedClient({ id: 'alice', info: { name: 'Alice' } });
  const bob = graphqlAuthorizedClient({ id: 'bob' });
  try {
    const aliceSocket = await connected(alice);
    await subscribed(alice, 'room-1');
    await subscribed(alice, 'room-2');
    await subscribed(bob, 'room-2');
    await subscribed(alice, 'presence-lobby');
    await subscribed(bob, 'presence-lobby');

    const rooms = (await gqlData(h, `{ channels(filter: {prefix: "room-"}) { totalCount hasNextPage endCursor channels { name type occupancy { occupied subscriptionCount userCount } } } }`)).channels;
    assert.deepEqual(rooms, {
      totalCount: 2,
      hasNextPage: false,
      endCursor: 'room-2',
      channels: [
        { name: 'room-1', type: 'PUBLIC', occupancy: { occupied: true, subscriptionCount: 1, userCount: null } },
        { name: 'room-2', type: 'PUBLIC', occupancy: { occupied: true, subscriptionCount: 2, userCount: null } },
      ],
    });

    const page1 = (await gqlData(h, `{ channels(filter: {prefix: "room-"}, first: 1) { hasNextPage endCursor channels { name } } }`)).channels;
    assert.deepEqual(page1, { hasNextPage: true, endCursor: 'room-1', channels: [{ name: 'room-1' }] });
    const page2 = (await gqlData(h, `query($after: String) { channels(filter: {prefix: "room-"}, first: 1, after: $after) { hasNextPage channels { name } } }`, { after: page1.endCursor })).channels;
    assert.deepEqual(page2, { hasNextPage: false, channels: [{ name: 'room-2' }] });

    const presenceOnly = (await gqlData(h, `{ channels(filter: {type: PRESENCE}) { channels { name occupancy { userCount } } } }`)).channels;
    assert.deepEqual(presenceOnly.channels, [{ name: 'presence-lobby', occupancy: { userCount: 2 } }]);

    const lobby = (
      await gqlData(
        h,
        `{ channel(name: "presence-lobby") {
            name type cache
            info { occupied subscriptionCount userCount cachedEvent { name } }
            model { __typename requiresAuthorization clientEventsAllowed ... on PresenceChannel { signedStringFormat maxMembers info { userCount } } }
            presence { members { id info } }
            subscriptions { socketId userId }
          } }`,
      )
    ).channel;
    assert.equal(lobby.type, 'PRESENCE');
    assert.deepEqual(lobby.info, { occupied: true, subscriptionCount: 2, userCount: 2, cachedEvent: null });
    assert.deepEqual(lobby.model, {
      __typename: 'PresenceChannel',
      requiresAuthorization: true,
      clientEventsAllowed: true,
      signedStringFormat: '{socket_id}:{channel_name}:{channel_data}',
      maxMembers: 100,
      info: { userCount: 2 },
    });
    const members = [...lobby.presence.members].sort((a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id));
    assert.deepEqual(members, [
      { id: 'alice', info: { name: 'Alice' } },
      { id: 'bob', info: null },
    ]);
    assert.ok(lobby.subscriptions.some((s: { socketId: string; userId: string }) => s.socketId === aliceSocket && s.userId === 'alice'));

    const info = (await gqlData(h, `{ presenceChannelInfo(channel: "presence-lobby") { channel userCount members { id } } }`)).presenceChannelInfo;
    assert.equal(info.userCount, 2);
    assert.equal(codeOf(await gql(h, `{ presenceChannelInfo(channel: "room-1") { userCount } }`)), 'BAD_USER_INPUT');

    const empty = (await gqlData(h, `{ channel(name: "private-nobody") { info { occupied subscriptionCount userCount } model { __typename } presence { userCount } } }`)).channel;
    assert.deepEqual(empty, { info: { occupied: false, subscriptionCount: 0, userCount: null }, model: { __typename: 'PrivateChannel' }, presence: null });
  } finally {
    alice.disconnect();
    bob.disconnect();
  }
});

test('triggerEvent and triggerBatchEvents reach pusher-js subscribers; socketId excludes the sender', async () => {
  const client = h.pusherClient();
  try {
    const socketId = await connected(client);
    const channel = await subscribed(client, 'news');
    const other = await subscribed(client, 'sport');

    // The first event excludes this socket; receiving the second first proves the exclusion.
    const received = nextEvent<unknown>(channel, 'headline');
    const excluded = await gqlData(h, `mutation($s: SocketID) { triggerEvent(input: {name: "headline", data: {n: 1}, channels: ["news"], socketId: $s}) { socketId } }`, { s: socketId });
    assert.equal(excluded.triggerEvent.socketId, socketId);
    const result = await gqlData(
      h,
      `mutation { triggerEvent(input: {name: "headline", data: {n: 2}, channels: ["news", "other-news"]}) {
        name data { raw json bytes } triggeredAt channels { name occupancy { subscriptionCount } } } }`,
    );
    assert.deepEqual(await received, { n: 2 });
    assert.equal(result.triggerEvent.data.raw, '{"n":2}');
    assert.deepEqual(result.triggerEvent.data.json, { n: 2 });
    assert.deepEqual(result.triggerEvent.channels, [
      { name: 'news', occupancy: { subscriptionCount: 1 } },
      { name: 'other-news', occupancy: { subscriptionCount: 0 } },
    ]);

    const first = nextEvent<string>(channel, 'a');
    const second = nextEvent<string>(other, 'b');
    const batch = await gqlData(
      h,
      `mutation { triggerBatchEvents(events: [{name: "a", data: "plain text", channel: "news"}, {name: "b", data: [1, 2], channel: "sport"}]) {
        index name data { raw } channel { name } } }`,
    );
    assert.equal(await first, 'plain text');
    assert.deepEqual(await second, [1, 2]);
    assert.deepEqual(batch.triggerBatchEvents, [
      { index: 0, name: 'a', data: { raw: 'plain text' }, channel: { name: 'news' } },
      { index: 1, name: 'b', data: { raw: '[1,2]' }, channel: { name: 'sport' } },
    ]);
  } finally {
    client.disconnect();
  }
});

test('publishing rules and quotas are the REST API ones', async () => {
  const reserved = await gql(h, `mutation { triggerEvent(input: {name: "pusher:x", data: "d", channels: ["c"]}) { name } }`);
  assert.equal(codeOf(reserved), 'BAD_USER_INPUT');
  assert.match(reserved.body.errors![0]!.message, /only Pusher can publish events with the prefix pusher:/);

  const tooBig = await gql(h, `mutation($d: JSON!) { triggerEvent(input: {name: "big", data: $d, channels: ["c"]}) { name } }`, { d: 'x'.repeat(20_000) });
  assert.equal(codeOf(tooBig), 'BAD_USER_INPUT');
  assert.match(tooBig.body.errors![0]!.message, /event data is 20000 bytes; the limit is 10240/);

  const mixed = await gql(h, `mutation { triggerEvent(input: {name: "e", data: "d", channels: ["private-encrypted-a", "b"]}) { name } }`);
  assert.match(mixed.body.errors![0]!.message, /encrypted channel must be sent to that channel alone/);

  const events = Array.from({ length: 11 }, (_, i) => ({ name: 'e', data: String(i), channel: 'c' }));
  const batch = await gql(h, `mutation($e: [BatchEventInput!]!) { triggerBatchEvents(events: $e) { index } }`, { e: events });
  assert.equal(codeOf(batch), 'BAD_USER_INPUT');
  assert.match(batch.body.errors![0]!.message, /Batch too large: 11 events \(limit 10\)/);
  const badItem = await gql(h, `mutation { triggerBatchEvents(events: [{name: "ok", data: "d", channel: "c"}, {name: "", data: "d", channel: "c"}]) { index } }`);
  assert.match(badItem.body.errors![0]!.message, /^batch\[1\]: /);

  // quota-app allows one message a day: the first publish passes, the second is refused.
  const quotaAuth = basic('quota-key', 'quota-secret-1');
  const trigger = `mutation { triggerEvent(input: {name: "e", data: "d", channels: ["quota"]}) { name } }`;
  assert.equal((await gql(h, trigger, undefined, quotaAuth)).body.errors, undefined);
  const refused = await gql(h, trigger, undefined, quotaAuth);
  assert.equal(codeOf(refused), 'QUOTA_EXCEEDED');
  assert.match(refused.body.errors![0]!.message, /Daily message quota exceeded for app quota-app/);

  // Disabled apps refuse API calls: their own credentials get 403, and the admin cannot publish for them.
  const disabled = await gql(h, trigger, undefined, basic('off-key', 'off-secret-1'));
  assert.equal(disabled.status, 403);
  assert.equal(codeOf(disabled), 'FORBIDDEN');
  const asAdmin = await gql(h, `mutation { triggerEvent(appId: "off-app", input: {name: "e", data: "d", channels: ["c"]}) { name } }`, undefined, ADMIN);
  assert.equal(codeOf(asAdmin), 'FORBIDDEN');
  assert.equal((await gqlData(h, `{ app(appId: "off-app") { enabled } }`, undefined, ADMIN)).app.enabled, false);
});

test('app, cluster, appStats and appUsage', async () => {
  const client = h.pusherClient();
  try {
    await connected(client);
    const data = await gqlData(
      h,
      `{ app { id enabled key { key primary } keys { key } clientEventsEnabled limits quotas webhookUrls cluster { broker } stats { connections } }
         cluster { name version broker brokerHealthy port useTLS wsPath activityTimeout localConnections beamsAvailable }
         appStats { appId connections localConnections peakConnectionsToday occupiedChannels dailyMessageQuota dailyMessagesRemaining connectionQuota today { date messages apiCalls } }
         appUsage(days: 2) { appId date from to messages apiCalls days { date messages } } }`,
    );
    assert.equal(data.app.id, h.app.id);
    assert.deepEqual(data.app.key, { key: h.app.key, primary: true });
    assert.equal(data.app.limits.maxBatchSize, 10);
    assert.deepEqual(data.app.quotas, { dailyMessages: 0, maxConnections: 0 });
    assert.equal(data.cluster.port, h.port);
    assert.equal(data.cluster.broker, 'memory');
    assert.equal(data.cluster.brokerHealthy, true);
    assert.equal(data.cluster.beamsAvailable, true);
    assert.ok(data.cluster.localConnections >= 1);
    assert.ok(data.appStats.connections >= 1);
    assert.equal(data.appStats.dailyMessageQuota, 0);
    assert.equal(data.appStats.dailyMessagesRemaining, null);
    assert.ok(data.appStats.today.apiCalls >= 1, 'GraphQL operations count as API calls');
    assert.equal(data.appUsage.date, null);
    assert.ok(data.appUsage.days.length >= 1);
    assert.equal(data.appUsage.to, data.appStats.today.date);

    const badRange = await gql(h, `{ appUsage(from: "2024-02-10", to: "2024-02-01") { messages } }`);
    assert.equal(codeOf(badRange), 'BAD_USER_INPUT');
    assert.equal(codeOf(await gql(h, `{ appUsage(days: 0) { messages } }`)), 'BAD_USER_INPUT');

    const adminView = await gqlData(h, `query($id: ID) { appStats(appId: $id) { appId } }`, { id: 'quota-app' }, ADMIN);
    assert.equal(adminView.appStats.appId, 'quota-app');
  } finally {
    client.disconnect();
  }
});

test('ChannelInfo.cachedEvent.at is when the event was published, not when the query ran', async () => {
  const before = Date.now();
  await h.pusherServer().trigger('cache-at-test', 'price', { n: 1 });
  const published = Date.now();
  // Let the clock move on, so query time and publish time differ by far more than the clock's resolution.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const queried = Date.now();
  const channel = (await gqlData(h, `{ channel(name: "cache-at-test") { info { cachedEvent { name source at } } } }`)).channel;
  const cached = channel.info.cachedEvent;
  assert.equal(cached.name, 'price');
  assert.equal(cached.source, 'cache');
  const at = Date.parse(cached.at);
  assert.ok(at >= before - 1 && at <= published + 1, `at ${cached.at} within the publish (${before}..${published}), query at ${queried}`);
});

