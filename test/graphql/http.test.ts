/** GraphQL over HTTP: the schema, the explorer, GET/POST, authentication, scoping and limits. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildSchema } from 'graphql';
import type { TestHerald } from '../helpers/herald.js';
import { ADMIN, appAuth, basic, codeOf, gql, gqlData, startGraphqlHerald } from './support.js';

const SEED_TYPES = [
  'App', 'AppKey', 'AppSecret', 'ClusterInfo',
  'AppChannel', 'ChannelInfo', 'ChannelList', 'ChannelSubscription', 'PresenceChannelInfo', 'PresenceMember', 'OccupancyInfo',
  'Event', 'TriggerEvent', 'BatchEvent', 'EventData',
  'AuthToken', 'SocketID', 'PrivateAuth', 'PresenceAuth', 'AuthorizationResponse',
  'Connection', 'ConnectionEvent', 'ConnectionData',
  'PublicChannel', 'PrivateChannel', 'PresenceChannel', 'EncryptedChannel',
  'WebhookEvent', 'WebhookPayloadEvent', 'EventWebhook', 'ChannelWebhook', 'MemberWebhook',
  'BeamsNotification', 'NotificationPayload', 'WebNotification', 'AndroidNotification', 'IOSNotification', 'BeamsToken', 'User', 'UserInterest',
  'Device', 'DeviceInfo',
  'APIResponse', 'ErrorDetail', 'APIStats', 'APIUsage',
];
const SEED_ENUMS: Record<string, string[]> = {
  ChannelType: ['PUBLIC', 'PRIVATE', 'PRESENCE', 'ENCRYPTED'],
  ConnectionState: ['CONNECTING', 'CONNECTED', 'UNAVAILABLE', 'FAILED', 'DISCONNECTED'],
  DevicePlatform: ['IOS', 'ANDROID', 'WEB'],
  WebhookEventType: ['CHANNEL_OCCUPIED', 'CHANNEL_VACATED', 'MEMBER_ADDED', 'MEMBER_REMOVED', 'CLIENT_EVENT', 'CACHE_MISS'],
  NotificationPriority: ['LOW', 'NORMAL', 'HIGH'],
};
const SEED_OPERATIONS = {
  queryType: ['app', 'channels', 'channel', 'presenceChannelInfo', 'cluster', 'appStats', 'appUsage', 'device', 'deviceInterests', 'beamsUser'],
  mutationType: [
    'triggerEvent', 'triggerBatchEvents', 'authorizeChannel', 'sendBeamsNotification', 'generateBeamsToken', 'registerDevice',
    'deleteDevice', 'addDeviceInterest', 'removeDeviceInterest', 'setDeviceInterests', 'deleteBeamsUser',
  ],
  subscriptionType: ['channelEvents', 'presenceMemberEvents', 'connectionStateChanged', 'webhookEvents'],
};

let h: TestHerald;
before(async () => {
  h = await startGraphqlHerald({ apps: [{ id: 'other-app', key: 'other-key', secret: 'other-secret-123' }] });
});
after(() => h.stop());

test('the published SDL has every seed type, enum and operation, each described', async () => {
  const sdl = readFileSync(new URL('../../src/graphql/schema.graphql', import.meta.url), 'utf8');
  const schema = buildSchema(sdl);
  for (const name of [...SEED_TYPES, ...Object.keys(SEED_ENUMS)]) {
    const type = schema.getType(name);
    assert.ok(type, `${name} is in the schema`);
    assert.ok(type.description, `${name} has a description`);
  }
  // Over HTTP, without credentials: introspection-only documents are public.
  const res = await gql(
    h,
    `{ __schema {
        queryType { fields { name description } } mutationType { fields { name description } } subscriptionType { fields { name description } }
        types { name kind enumValues { name } } } }`,
    undefined,
    null,
  );
  assert.equal(res.status, 200, JSON.stringify(res.body.errors));
  const s = res.body.data.__schema;
  for (const [root, names] of Object.entries(SEED_OPERATIONS)) {
    const fields = s[root].fields as Array<{ name: string; description: string }>;
    for (const name of names) {
      const field = fields.find((f) => f.name === name);
      assert.ok(field, `${root}.${name} exists`);
      assert.ok(field.description, `${root}.${name} is described`);
    }
  }
  for (const [name, values] of Object.entries(SEED_ENUMS)) {
    const type = (s.types as Array<{ name: string; enumValues: Array<{ name: string }> | null }>).find((t) => t.name === name)!;
    for (const value of values) assert.ok(type.enumValues!.some((v) => v.name === value), `${name}.${value}`);
  }
});

test('GET /graphql with Accept: text/html serves the self-contained explorer', async () => {
  const res = await fetch(`${h.httpUrl}/graphql`, { headers: { Accept: 'text/html' } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /text\/html/);
  const html = await res.text();
  assert.match(html, /<textarea id="query"/);
  assert.match(html, /<textarea id="variables"/);
  assert.match(html, /id="run"/);
  assert.match(html, /graphql-transport-ws/);
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=/, 'no external resources');
  assert.match(res.headers.get('content-security-policy')!, /default-src 'none'/);
});

test('GET runs queries; mutations over GET are refused with 405', async () => {
  const url = new URL(`${h.httpUrl}/graphql`);
  url.searchParams.set('query', 'query Q($id: ID) { app(appId: $id) { id } }');
  url.searchParams.set('variables', JSON.stringify({ id: h.app.id }));
  const res = await fetch(url, { headers: { Authorization: appAuth(h) } });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { data: { app: { id: h.app.id } } });

  const mutation = new URL(`${h.httpUrl}/graphql`);
  mutation.searchParams.set('query', 'mutation { triggerEvent(input: {name: "e", data: "x", channels: ["c"]}) { name } }');
  const refused = await fetch(mutation, { headers: { Authorization: appAuth(h) } });
  assert.equal(refused.status, 405);
  assert.equal(refused.headers.get('allow'), 'POST');
});

test('authentication: missing, wrong secret, admin token; UNAUTHENTICATED is a 401', async () => {
  const missing = await gql(h, '{ app { id } }', undefined, null);
  assert.equal(missing.status, 401);
  assert.equal(codeOf(missing), 'UNAUTHENTICATED');
  assert.match(missing.headers.get('www-authenticate')!, /realm="herald-graphql"/);

  const wrong = await gql(h, '{ app { id } }', undefined, basic(h.app.key, 'not-the-secret'));
  assert.equal(wrong.status, 401);
  assert.equal(codeOf(wrong), 'UNAUTHENTICATED');

  const badAdmin = await gql(h, '{ app(appId: "other-app") { id } }', undefined, 'Bearer wrong-token-0000000000');
  assert.equal(codeOf(badAdmin), 'UNAUTHENTICATED');

  const garbage = await gql(h, '{ app { id } }', undefined, 'Digest abc');
  assert.equal(codeOf(garbage), 'UNAUTHENTICATED');

  const admin = await gqlData(h, '{ app(appId: "other-app") { id secret { value hint } } }', undefined, ADMIN);
  assert.deepEqual(admin.app, { id: 'other-app', secret: { value: 'other-secret-123', hint: '-123' } });
  const own = await gqlData(h, '{ app { secret { value hint } } }');
  assert.equal(own.app.secret.value, null, 'apps never get their secret back');
});

test('an app sees only its own data; admin must name the app', async () => {
  const other = await gql(h, '{ app(appId: "other-app") { id } }');
  assert.equal(other.status, 200);
  assert.equal(codeOf(other), 'FORBIDDEN');
  assert.equal(other.body.data, null);

  const stats = await gql(h, '{ appStats(appId: "other-app") { appId } }');
  assert.equal(codeOf(stats), 'FORBIDDEN');
  const trigger = await gql(h, 'mutation { triggerEvent(appId: "other-app", input: {name: "e", data: "x", channels: ["c"]}) { name } }');
  assert.equal(codeOf(trigger), 'FORBIDDEN');

  const noApp = await gql(h, '{ app { id } }', undefined, ADMIN);
  assert.equal(codeOf(noApp), 'BAD_USER_INPUT');
  const unknown = await gql(h, '{ app(appId: "nope") { id } }', undefined, ADMIN);
  assert.equal(codeOf(unknown), 'NOT_FOUND');

  const apps = await gqlData(h, '{ apps { id } }', undefined, ADMIN);
  assert.deepEqual(apps.apps.map((a: { id: string }) => a.id).sort(), [h.app.id, 'other-app'].sort());
  assert.equal(codeOf(await gql(h, '{ apps { id } }')), 'FORBIDDEN');
});

test('request errors: parse, validation, depth, complexity, bad JSON, batches', async () => {
  const parse = await gql(h, '{ app { id ');
  assert.equal(parse.status, 400);
  assert.equal(codeOf(parse), 'GRAPHQL_PARSE_FAILED');

  const invalid = await gql(h, '{ app { nope } }');
  assert.equal(invalid.status, 400);
  assert.equal(codeOf(invalid), 'GRAPHQL_VALIDATION_FAILED');

  const deep = await gql(h, '{ app { stats { today { days { days { days { days { days { days { days { days { messages } } } } } } } } } } } }');
  assert.equal(deep.status, 400);
  assert.equal(codeOf(deep), 'BAD_USER_INPUT');
  assert.match(deep.body.errors![0]!.message, /too deep/);

  const many = `{ ${Array.from({ length: 1001 }, (_, i) => `a${i}: cluster { name }`).join(' ')} }`;
  const costly = await gql(h, many);
  assert.equal(costly.status, 400);
  assert.match(costly.body.errors![0]!.message, /too complex/);

  // Fragments cannot hide cost: each spread is expanded.
  const fragments = `query { ...F0 }
    ${Array.from({ length: 12 }, (_, i) => `fragment F${i} on Query { ${i === 11 ? 'cluster { ...G11 }' : `a: app { id } ...F${i + 1} b${i}: cluster { ...G${i} }`} }`).join('\n')}
    ${Array.from({ length: 12 }, (_, i) => `fragment G${i} on ClusterInfo { name version }`).join('\n')}`;
  assert.equal((await gql(h, fragments)).status, 200, 'a modest fragment document is fine');

  const badJson = await fetch(`${h.httpUrl}/graphql`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: appAuth(h) }, body: '{nope' });
  assert.equal(badJson.status, 400);
  assert.equal(((await badJson.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code, 'BAD_USER_INPUT');

  const batch = await fetch(`${h.httpUrl}/graphql`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: appAuth(h) }, body: '[{"query":"{ cluster { name } }"}]' });
  assert.equal(batch.status, 400);

  const subscription = await gql(h, 'subscription { connectionStateChanged { state } }');
  assert.equal(subscription.status, 400);
  assert.match(subscription.body.errors![0]!.message, /WebSocket/);

  const badVariable = await gql(h, 'mutation($s: SocketID!) { authorizeChannel(input: {socketId: $s, channel: "private-a"}) { channel } }', { s: 'not-a-socket' });
  assert.equal(badVariable.status, 200);
  assert.equal(codeOf(badVariable), 'BAD_USER_INPUT');
});

test('per-app request rate (limits.apiRequestsPerSecond) answers RATE_LIMITED with 429', async () => {
  const limited = await startGraphqlHerald({ app: { limits: { apiRequestsPerSecond: 1 } } });
  try {
    // One token per second: of several simultaneous requests, only about one gets through.
    const results = await Promise.all(Array.from({ length: 6 }, () => gql(limited, '{ cluster { name } }')));
    const refused = results.filter((r) => r.status === 429);
    assert.ok(refused.length > 0, `statuses ${results.map((r) => r.status).join(',')}`);
    assert.equal(codeOf(refused[0]!), 'RATE_LIMITED');
    assert.equal(refused[0]!.headers.get('retry-after'), '1');
  } finally {
    await limited.stop();
  }
});
