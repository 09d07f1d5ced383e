/**
 * Seeded fuzzing of the surfaces beside the Pusher API: the admin API (/admin/*), the Beams APIs
 * (/publish_api, /device_api, /customer_api, /user_api), GraphQL (/graphql over HTTP and
 * graphql-ws) and the console API (/console/api/*). Random methods, hostile path segments, query
 * strings, credentials and bodies: every answer must be below 500 and, when a refusal, a JSON
 * error body; the process must not see an unhandled rejection and the heap must stay flat.
 * HERALD_FUZZ_ITERATIONS / HERALD_FUZZ_SEED as in fuzz.test.ts.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { withTimeout } from '../helpers/wait.js';
import { FuzzInput } from './fuzz-input.js';
import { heapAfterGc, mb } from './memory.js';

const SEED = Number(process.env.HERALD_FUZZ_SEED ?? 20261122);
const ITERATIONS = Number(process.env.HERALD_FUZZ_ITERATIONS ?? 600);
/** Requests per surface: a quarter of the frame count keeps the CI run short. */
const PER_SURFACE = Math.max(60, Math.floor(ITERATIONS / 4));
const HEAP_GROWTH_LIMIT = 16 * 1024 * 1024;
const ADMIN = 'fuzz-admin-token-0123456789abcdef';
const BEAMS_ID = 'fuzz-beams';
const BEAMS_KEY = 'fuzz-beams-secret-key';

const fuzz = new FuzzInput(SEED ^ 0x5eed);
let h: TestHerald;
const rejections: unknown[] = [];
const onRejection = (err: unknown) => rejections.push(err);

before(async () => {
  process.on('unhandledRejection', onRejection);
  h = await startTestHerald({ config: { adminToken: ADMIN, beamsInstanceId: BEAMS_ID, beamsSecretKey: BEAMS_KEY } });
});
after(async () => {
  process.off('unhandledRejection', onRejection);
  await h.stop();
});

interface FuzzRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Usually the credential the surface expects (so requests get past auth), else any other. */
function authorization(preferred: string): Record<string, string> {
  if (fuzz.chance(0.7)) return { Authorization: preferred };
  const value = fuzz.pick([
    undefined,
    `Bearer ${ADMIN}`,
    `Bearer ${ADMIN}`,
    `Bearer ${BEAMS_KEY}`,
    'Bearer wrong-token-wrong-token',
    `Bearer ${'x'.repeat(5000)}`,
    basic(h.app.key, h.app.secret),
    basic(BEAMS_ID, BEAMS_KEY),
    basic('nobody', 'nothing'),
    'Basic !!!not-base64',
    'Basic ' + Buffer.from('no-colon').toString('base64'),
    'Digest whatever',
    '',
  ]);
  return value === undefined ? {} : { Authorization: value };
}

function query(names: readonly string[]): string {
  if (fuzz.chance(0.4)) return '';
  const parts = names.filter(() => fuzz.chance(0.5)).map((n) => `${n}=${encodeURIComponent(String(fuzz.value()).slice(0, 300))}`);
  if (fuzz.chance(0.2)) parts.push(fuzz.pick(['%zz', 'a=%', '=', '&&', 'x=' + 'y'.repeat(3000)]));
  return parts.length ? `?${parts.join('&')}` : '';
}

/** Sends one request; asserts no 5xx and a JSON error body on refusals. Returns the status. */
async function send(request: FuzzRequest): Promise<number> {
  const res = await fetch(`${h.httpUrl}${request.path}`, {
    method: request.method,
    headers: { 'Content-Type': fuzz.chance(0.9) ? 'application/json' : fuzz.pick(['text/plain', 'application/json; charset=utf-8', '']), ...request.headers },
    body: request.body === undefined || request.method === 'GET' || request.method === 'HEAD' ? undefined : request.body,
  });
  const text = await res.text();
  const what = `${request.method} ${request.path.slice(0, 150)} ${request.body?.slice(0, 100) ?? ''} → ${res.status} ${text.slice(0, 200)}`;
  assert.ok(res.status < 500, what);
  if (res.status >= 400) {
    assert.match(res.headers.get('content-type') ?? '', /application\/json/, `JSON error body: ${what}`);
    const parsed = JSON.parse(text) as Record<string, unknown>;
    assert.ok(typeof parsed.error === 'string' || Array.isArray(parsed.errors), `error or errors field: ${what}`);
  }
  return res.status;
}

async function fuzzSurface(t: TestContext, name: string, next: () => FuzzRequest): Promise<void> {
  const statuses = new Map<number, number>();
  const warmup = Math.floor(PER_SURFACE / 5);
  let heapBefore = 0;
  for (let i = 0; i < PER_SURFACE; i++) {
    if (i === warmup) heapBefore = await heapAfterGc();
    const status = await send(next());
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
  const health = await fetch(`${h.httpUrl}/health`);
  assert.equal(health.status, 200);
  const heapAfter = await heapAfterGc();
  t.diagnostic(`${name}: statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; heap after GC ${mb(heapBefore)} → ${mb(heapAfter)}`);
  assert.ok(statuses.size > 1, `a spread of answers from ${name}`);
  assert.ok(heapAfter - heapBefore < HEAP_GROWTH_LIMIT, `${name}: heap grew ${mb(heapAfter - heapBefore)}`);
  assert.deepEqual(rejections, []);
}

const APP_FIELDS = ['id', 'key', 'secret', 'name', 'enabled', 'clientEvents', 'limits', 'quotas', 'webhooks', 'userAuthentication', 'cacheTtlSeconds', 'extraCredentials'];

test(`admin API fuzz (seed ${SEED}): /admin/apps and /admin/beams never give a 5xx`, async (t) => {
  const created: string[] = [];
  await fuzzSurface(t, 'admin', () => {
    const appId = fuzz.segment(fuzz.pick([h.app.id, ...created, 'fuzz-new-app']));
    const instanceId = fuzz.segment(fuzz.pick([BEAMS_ID, 'fuzz-other']));
    const [routeMethod, path] = fuzz.pick<[string, string]>([
      ['GET', '/admin/apps'],
      ['POST', '/admin/apps'],
      ['POST', '/admin/apps'],
      [fuzz.pick(['GET', 'PATCH', 'PUT', 'DELETE']), `/admin/apps/${appId}`],
      ['POST', `/admin/apps/${appId}/rotate-secret`],
      ['GET', `/admin/apps/${appId}/stats`],
      ['GET', `/admin/apps/${appId}/usage`],
      ['GET', `/admin/apps/${appId}/webhooks/log`],
      ['GET', `/admin/apps/${appId}/webhooks/endpoints`],
      ['POST', `/admin/apps/${appId}/webhooks/${fuzz.pick(['test', 'retry'])}`],
      ['GET', `/admin/beams/instances/${instanceId}/publishes`],
      [fuzz.pick(['GET', 'POST']), '/admin/beams/instances'],
      [fuzz.pick(['GET', 'PATCH', 'DELETE']), `/admin/beams/instances/${instanceId}`],
      ['POST', `/admin/beams/instances/${instanceId}/rotate-secret`],
      ['GET', '/admin/' + fuzz.segment('nothing')],
    ]);
    const method = fuzz.chance(0.15) ? fuzz.pick(['GET', 'POST', 'PATCH', 'PUT', 'DELETE']) : routeMethod;
    // Mostly well-formed app bodies with wrong types here and there, so validation runs deep.
    const body = fuzz.body(() => {
      if (path.includes('rotate-secret')) return fuzz.object(['newKey', 'keepPrevious', 'secretKey']);
      if (path.includes('beams')) return fuzz.object(['id', 'name', 'secretKey', 'apns', 'fcm', 'web', 'limits']);
      const id = `fuzz-${fuzz.int(1e6)}`;
      if (method === 'POST' && fuzz.chance(0.3)) {
        created.push(id);
        return { id, key: `${id}-key`, secret: 'fuzz-secret-123456', ...fuzz.object(['name', 'enabled', 'limits', 'webhooks']) };
      }
      return fuzz.object(APP_FIELDS);
    });
    // Deleting, disabling or rotating the default app or Beams instance would starve the other
    // surfaces (their credentials stop working): leave those two alone.
    const touchesDefault = (path.startsWith(`/admin/apps/${h.app.id}`) || path.startsWith(`/admin/beams/instances/${BEAMS_ID}`)) && method !== 'GET';
    return { method: touchesDefault ? 'GET' : method, path: path + query(['days', 'from', 'to', 'limit']), headers: authorization(`Bearer ${ADMIN}`), body };
  });
});

const BEAMS_PUBLISH_FIELDS = ['interests', 'users', 'web', 'fcm', 'apns', 'webhookUrl', 'x'];

test(`Beams API fuzz (seed ${SEED}): publish, device, customer APIs never give a 5xx`, async (t) => {
  await fuzzSurface(t, 'beams', () => {
    const instance = fuzz.segment(BEAMS_ID);
    const platform = fuzz.segment(fuzz.pick(['web', 'fcm', 'apns']));
    const device = fuzz.segment(fuzz.pick(['web-00000000-0000-0000-0000-000000000000', 'fcm-1', 'apns-2']));
    const [method, path, shape] = fuzz.pick<[string, string, () => unknown]>([
      ['POST', `/publish_api/v1/instances/${instance}/publishes/interests`, () => ({ interests: fuzz.chance(0.5) ? ['hello'] : fuzz.value(), web: { notification: { title: fuzz.value(), body: fuzz.value() } }, ...fuzz.object(BEAMS_PUBLISH_FIELDS) })],
      ['POST', `/publish_api/v1/instances/${instance}/publishes/users`, () => ({ users: fuzz.chance(0.5) ? ['u1'] : fuzz.value(), fcm: { notification: fuzz.value() }, ...fuzz.object(BEAMS_PUBLISH_FIELDS) })],
      ['GET', `/publish_api/v1/instances/${instance}/publishes/${fuzz.segment('pubid-1')}`, () => null],
      ['GET', `/device_api/v1/instances/${instance}/web-vapid-public-key`, () => null],
      ['POST', `/device_api/v1/instances/${instance}/devices/${platform}`, () => fuzz.object(['token', 'metadata', 'bundleIdentifier', 'x'])],
      ['GET', `/device_api/v1/instances/${instance}/devices/${platform}/${device}`, () => null],
      ['DELETE', `/device_api/v1/instances/${instance}/devices/${platform}/${device}`, () => null],
      ['PUT', `/device_api/v1/instances/${instance}/devices/${platform}/${device}/metadata`, () => fuzz.object(['sdkVersion', 'iosVersion', 'macosVersion', 'x'])],
      ['PUT', `/device_api/v1/instances/${instance}/devices/${platform}/${device}/token`, () => fuzz.object(['token', 'x'])],
      ['PUT', `/device_api/v1/instances/${instance}/devices/${platform}/${device}/user`, () => ({})],
      ['GET', `/device_api/v1/instances/${instance}/devices/${platform}/${device}/interests`, () => null],
      ['PUT', `/device_api/v1/instances/${instance}/devices/${platform}/${device}/interests`, () => ({ interests: fuzz.value() })],
      ['POST', `/device_api/v1/instances/${instance}/devices/${platform}/${device}/interests/${fuzz.segment('news')}`, () => null],
      ['DELETE', `/device_api/v1/instances/${instance}/devices/${platform}/${device}/interests/${fuzz.segment('news')}`, () => null],
      ['DELETE', `/customer_api/v1/instances/${instance}/users/${fuzz.segment('u1')}`, () => null],
      ['DELETE', `/user_api/v1/instances/${instance}/users/${fuzz.segment('u1')}`, () => null],
      [fuzz.pick(['GET', 'PATCH']), `/${fuzz.pick(['publish_api', 'device_api', 'customer_api'])}/${fuzz.segment('v1')}/x`, () => fuzz.value()],
    ]);
    // The Publish and Customer APIs take the secret key; the Device API a user JWT or nothing.
    const bearer = path.startsWith('/device_api') ? `Bearer ${fuzz.pick(['', 'x', 'a.b.c', 'eyJhbGciOiJub25lIn0.e30.', 'x'.repeat(9000)])}` : `Bearer ${BEAMS_KEY}`;
    return { method, path: path + query(['cursor', 'limit', 'x']), headers: authorization(bearer), body: fuzz.body(shape) };
  });
});

const GRAPHQL_DOCUMENTS = [
  'query { app { id name enabled limits quotas } }',
  'query { apps { id key { key } } }',
  'query($p: String, $n: Int, $a: String) { channels(filter: {prefix: $p}, first: $n, after: $a) { nodes { name } } }',
  'query($name: String!) { channel(name: $name) { name occupied subscriptionCount } }',
  'query($c: String!) { presenceChannelInfo(channel: $c) { userCount } }',
  'query($d: Int, $f: String, $t: String) { appUsage(days: $d, from: $f, to: $t) { from to } }',
  'query { appStats { connections } }',
  'query { cluster { version } }',
  'query($i: ID, $p: DevicePlatform!, $d: ID!) { device(instanceId: $i, platform: $p, deviceId: $d) { id } }',
  'query($u: ID!) { beamsUser(userId: $u) { id } }',
  'mutation($input: TriggerEventInput!) { triggerEvent(input: $input) { channels { name } } }',
  'mutation($events: [BatchEventInput!]!) { triggerBatchEvents(events: $events) { channel } }',
  'mutation($input: AuthorizeChannelInput!) { authorizeChannel(input: $input) { auth channelData } }',
  'mutation($input: BeamsNotificationInput!) { sendBeamsNotification(instanceId: "fuzz-beams", input: $input) { publishId } }',
  'mutation($u: ID!) { generateBeamsToken(instanceId: "fuzz-beams", userId: $u) { token } }',
  'mutation($input: RegisterDeviceInput!) { registerDevice(instanceId: "fuzz-beams", input: $input) { id } }',
  'query { __schema { types { name fields { name } } } }',
  'subscription { channelEvents(channel: "x") { name } }',
];

function graphqlCredential(): string {
  return fuzz.pick([`Bearer ${ADMIN}`, basic(h.app.key, h.app.secret), basic(BEAMS_ID, BEAMS_KEY)]);
}

function graphqlVariables(): unknown {
  if (fuzz.chance(0.1)) return fuzz.value();
  return fuzz.object(['p', 'n', 'a', 'name', 'c', 'd', 'f', 't', 'i', 'u', 'input', 'events']);
}

function graphqlDocument(): string {
  switch (fuzz.int(6)) {
    case 0:
      return fuzz.mutate(fuzz.pick(GRAPHQL_DOCUMENTS));
    case 1:
      // Deep selections and many aliases: the depth / cost limits must answer, not the stack.
      return `query { ${'app { '.repeat(fuzz.int(300))}id${' }'.repeat(fuzz.int(300))} }`;
    case 2:
      return `query { ${Array.from({ length: fuzz.int(3000) }, (_, i) => `a${i}: cluster { version }`).join(' ')} }`;
    default:
      return fuzz.pick(GRAPHQL_DOCUMENTS);
  }
}

test(`GraphQL fuzz (seed ${SEED}): documents, variables and credentials never give a 5xx`, async (t) => {
  await fuzzSurface(t, 'graphql', () => {
    if (fuzz.chance(0.25)) {
      const params = new URLSearchParams({ query: graphqlDocument().slice(0, 6000), variables: JSON.stringify(graphqlVariables()) ?? '' });
      return { method: 'GET', path: `/graphql?${params}`, headers: authorization(graphqlCredential()) };
    }
    const body = fuzz.chance(0.15)
      ? fuzz.body(() => fuzz.value())
      : JSON.stringify({ query: fuzz.chance(0.9) ? graphqlDocument() : fuzz.value(), variables: graphqlVariables(), operationName: fuzz.chance(0.1) ? fuzz.value() : undefined });
    return { method: 'POST', path: '/graphql', headers: authorization(graphqlCredential()), body };
  });

  // graphql-ws: malformed and out-of-order protocol messages close the socket with a 44xx code.
  for (let i = 0; i < 20; i++) {
    const ws = new WebSocket(`${h.wsUrl}/graphql`, 'graphql-transport-ws');
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.on('error', () => undefined);
    await withTimeout(new Promise((resolve) => ws.once('open', resolve)), 5000, 'graphql-ws open');
    const messages = [
      JSON.stringify({ type: 'connection_init', payload: fuzz.chance(0.5) ? { authorization: `Bearer ${ADMIN}` } : fuzz.value() }),
      JSON.stringify({ type: 'subscribe', id: fuzz.value(), payload: { query: graphqlDocument(), variables: graphqlVariables() } }),
      fuzz.body(() => ({ type: fuzz.pick(['ping', 'pong', 'complete', 'next', 'error', 'nonsense']), id: fuzz.value(), payload: fuzz.value() })),
    ];
    for (const m of messages.slice(fuzz.int(2))) ws.send(m);
    ws.close();
    await withTimeout(closed, 5000, 'graphql-ws close');
  }
  const health = await fetch(`${h.httpUrl}/health`);
  assert.equal(health.status, 200);
  assert.deepEqual(rejections, []);
});

test(`console API fuzz (seed ${SEED}): /console/api and assets never give a 5xx`, async (t) => {
  await fuzzSurface(t, 'console', () => {
    const appId = fuzz.segment(h.app.id);
    const [method, path, shape] = fuzz.pick<[string, string, () => unknown]>([
      ['GET', '/console/api/session', () => null],
      ['GET', '/console/api/apps', () => null],
      ['GET', `/console/api/apps/${appId}`, () => null],
      ['GET', `/console/api/apps/${appId}/channels`, () => null],
      ['GET', `/console/api/apps/${appId}/channels/${fuzz.segment('presence-x')}/members`, () => null],
      ['POST', `/console/api/apps/${appId}/events`, () => fuzz.object(['channel', 'event', 'data', 'x'])],
      ['GET', `/console/api/apps/${appId}/webhooks`, () => null],
      ['GET', '/console/api/beams/instances', () => null],
      ['POST', `/console/api/beams/instances/${fuzz.segment(BEAMS_ID)}/publish`, () => fuzz.object(['interest', 'title', 'body'])],
      ['GET', `/console/assets/${fuzz.segment('app.js')}`, () => null],
      ['GET', `/console/vendor/${fuzz.segment('preact.mjs')}`, () => null],
      [fuzz.pick(['DELETE', 'PUT']), `/console/api/${fuzz.segment('apps')}`, () => fuzz.value()],
      ['GET', '/console/api/app-schema', () => null],
      ['POST', '/console/api/apps', () => fuzz.object(['name', 'id', 'key', 'secret', 'limits', 'allowedOrigins', 'x'])],
      [fuzz.pick(['PATCH', 'DELETE']), `/console/api/apps/${appId}`, () => fuzz.object(['name', 'enabled', 'limits', 'allowedOrigins', 'secret', 'x'])],
      ['POST', `/console/api/apps/${appId}/${fuzz.pick(['rotate-secret', 'drop-credential'])}`, () => fuzz.object(['newKey', 'keepPrevious', 'key'])],
      ['GET', `/console/api/apps/${appId}/usage`, () => null],
      ['POST', `/console/api/apps/${appId}/webhooks${fuzz.pick(['', '/update', '/remove', '/test', '/retry'])}`, () => fuzz.object(['url', 'endpoint', 'x'])],
      // Not the default instance: rotating its key would starve the other surfaces.
      [fuzz.pick(['POST', 'PATCH']), `/console/api/beams/instances${fuzz.pick(['', `/${fuzz.segment('fuzz-console')}`, `/${fuzz.segment('fuzz-console')}/rotate-secret`])}`, () => fuzz.object(['id', 'name', 'apns', 'fcm', 'web', 'secretKey'])],
      ['GET', `/console/api/beams/instances/${fuzz.segment(BEAMS_ID)}/publishes`, () => null],
    ]);
    return { method, path: path + query(['prefix', 'app', 'limit', 'days', 'from', 'to']), headers: authorization(`Bearer ${ADMIN}`), body: fuzz.body(shape) };
  });
});
