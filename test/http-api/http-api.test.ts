/** The HTTP API through the stock `pusher` SDK, and its error paths with hand-signed requests. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Pusher from 'pusher';
import { configSchema } from '../../src/config/schema.js';
import { startHerald } from '../../src/server/herald.js';
import { createLogger } from '../../src/platform/logger.js';
import { MemoryBroker } from '../../src/scaling/memory-broker.js';
import { parseApp } from '../../src/apps/app.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { nextEvent } from '../helpers/wait.js';
import { RawClient } from '../helpers/raw-client.js';
import { md5Hex } from '../../src/protocol/signatures.js';
import { signRequest } from '../../src/protocol/http-signing.js';

let h: TestHerald;
let server: Pusher;
before(async () => {
  h = await startTestHerald();
  server = h.pusherServer();
});
after(() => h.stop());

/** Sends a request signed exactly as Pusher specifies, with knobs to break each part. */
async function signed(method: string, path: string, body?: string, opts: { timestamp?: number; secret?: string; key?: string; md5?: string; extra?: Record<string, string> } = {}) {
  const query: Array<[string, string]> = [
    ['auth_key', opts.key ?? h.app.key],
    ['auth_timestamp', String(opts.timestamp ?? Math.floor(Date.now() / 1000))],
    ['auth_version', '1.0'],
    ...Object.entries(opts.extra ?? {}),
  ];
  if (body !== undefined) query.push(['body_md5', opts.md5 ?? md5Hex(body)]);
  const signature = signRequest(opts.secret ?? h.app.secret, method, path, query);
  const signed: Array<[string, string]> = [...query, ['auth_signature', signature]];
  const qs = signed.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
  const res = await fetch(`${h.httpUrl}${path}?${qs}`, { method, body, headers: body ? { 'Content-Type': 'application/json' } : {} });
  return { status: res.status, body: await res.text() };
}

test('trigger to several channels, with info counts', async () => {
  const client = h.pusherClient();
  const a = client.subscribe('multi-a');
  await nextEvent(a, 'pusher:subscription_succeeded');
  const got = nextEvent(a, 'ev');
  const res = await server.trigger(['multi-a', 'multi-b'], 'ev', { x: 1 }, { info: 'subscription_count' });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { channels: { 'multi-a': { subscription_count: 1 }, 'multi-b': { subscription_count: 0 } } });
  assert.deepEqual(await got, { x: 1 });
  const plain = await server.trigger('multi-a', 'ev', 'x');
  assert.deepEqual(await plain.json(), {});
  client.disconnect();
});

test("pusher.trigger('ch', 'ev') without data is accepted (seed 003: data is optional) and delivered with empty data", async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  raw.send({ event: 'pusher:subscribe', data: { channel: 'no-data' } });
  await raw.waitEvent('pusher_internal:subscription_succeeded', 'no-data');
  const trigger = server.trigger.bind(server) as unknown as (channel: string, event: string) => Promise<Response>;
  const res = await trigger('no-data', 'ev');
  assert.equal(res.status, 200);
  const frame = await raw.waitEvent('ev', 'no-data');
  assert.equal(frame.data, '');
  raw.close();
});

test('batch trigger with per-item info', async () => {
  const client = h.pusherClient();
  const ch = client.subscribe('batch-1');
  await nextEvent(ch, 'pusher:subscription_succeeded');
  const first = nextEvent(ch, 'e1');
  const res = await server.triggerBatch([
    { channel: 'batch-1', name: 'e1', data: { n: 1 }, info: 'subscription_count' } as Pusher.BatchEvent,
    { channel: 'batch-2', name: 'e2', data: 'two' },
  ]);
  assert.deepEqual(await res.json(), { batch: [{ subscription_count: 1 }, {}] });
  assert.deepEqual(await first, { n: 1 });
  client.disconnect();
});

test('channel listing, channel info and presence users through pusher.get', async () => {
  const list = await server.get({ path: '/channels', params: {} });
  assert.equal(list.status, 200);
  assert.deepEqual(Object.keys(await list.json()), ['channels']);
  const info = await server.get({ path: '/channels/nobody-here', params: { info: 'subscription_count' } });
  assert.deepEqual(await info.json(), { occupied: false, subscription_count: 0 });
});

test('error paths return Pusher statuses with readable bodies', async () => {
  const event = JSON.stringify({ name: 'e', data: '{}', channels: ['c'] });
  const cases: Array<[string, Promise<{ status: number; body: string }>, number, RegExp]> = [
    ['bad signature', signed('POST', `/apps/${h.app.id}/events`, event, { secret: 'wrong-secret' }), 401, /Invalid signature/],
    ['unknown auth_key', signed('POST', `/apps/${h.app.id}/events`, event, { key: 'nope' }), 401, /Unknown auth_key/],
    ['stale timestamp', signed('POST', `/apps/${h.app.id}/events`, event, { timestamp: Math.floor(Date.now() / 1000) - 601 }), 401, /Timestamp expired/],
    ['future timestamp', signed('POST', `/apps/${h.app.id}/events`, event, { timestamp: Math.floor(Date.now() / 1000) + 610 }), 401, /Timestamp expired/],
    ['wrong body_md5', signed('POST', `/apps/${h.app.id}/events`, event, { md5: md5Hex('other') }), 401, /body_md5/],
    ['unknown app', signed('POST', '/apps/no-such-app/events', event), 404, /Unknown app/],
    ['unknown route', signed('GET', `/apps/${h.app.id}/nothing`), 404, /Not found/],
    ['not JSON', signed('POST', `/apps/${h.app.id}/events`, 'nope'), 400, /not valid JSON/],
    ['missing name', signed('POST', `/apps/${h.app.id}/events`, JSON.stringify({ data: 'x', channels: ['c'] })), 400, /Event name/],
    ['no channels', signed('POST', `/apps/${h.app.id}/events`, JSON.stringify({ name: 'e', data: 'x' })), 400, /channels/],
    ['101 channels', signed('POST', `/apps/${h.app.id}/events`, JSON.stringify({ name: 'e', data: 'x', channels: Array.from({ length: 101 }, (_, i) => `c${i}`) })), 400, /too many channels/],
    ['bad channel name', signed('POST', `/apps/${h.app.id}/events`, JSON.stringify({ name: 'e', data: 'x', channels: ['bad name'] })), 400, /Invalid channel name/],
    ['pusher: event name', signed('POST', `/apps/${h.app.id}/events`, JSON.stringify({ name: 'pusher:x', data: 'x', channels: ['c'] })), 400, /only Pusher/],
    ['bad socket_id', signed('POST', `/apps/${h.app.id}/events`, JSON.stringify({ name: 'e', data: 'x', channels: ['c'], socket_id: 'abc' })), 400, /socket_id/],
    ['oversize data', signed('POST', `/apps/${h.app.id}/events`, JSON.stringify({ name: 'e', data: 'x'.repeat(10_241), channels: ['c'] })), 413, /limit is 10240/],
    ['encrypted with another channel', signed('POST', `/apps/${h.app.id}/events`, JSON.stringify({ name: 'e', data: 'x', channels: ['private-encrypted-a', 'b'] })), 400, /encrypted/],
    ['11 batch events', signed('POST', `/apps/${h.app.id}/batch_events`, JSON.stringify({ batch: Array.from({ length: 11 }, () => ({ name: 'e', data: 'x', channel: 'c' })) })), 400, /Batch too large/],
    ['user_count on non-presence list', signed('GET', `/apps/${h.app.id}/channels`, undefined, { extra: { info: 'user_count' } }), 400, /presence-/],
    ['users of a public channel', signed('GET', `/apps/${h.app.id}/channels/public/users`), 400, /presence/],
    ['unknown info attribute', signed('GET', `/apps/${h.app.id}/channels/c`, undefined, { extra: { info: 'bogus' } }), 400, /Unknown info/],
  ];
  for (const [what, promise, status, pattern] of cases) {
    const res = await promise;
    assert.equal(res.status, status, `${what}: ${res.body}`);
    assert.match(JSON.parse(res.body).error, pattern, what);
  }
});

test('the SDK surfaces errors as RequestError with status and body', async () => {
  const bad = h.pusherServer({ secret: 'not-the-secret' });
  await assert.rejects(bad.trigger('c', 'e', {}), (err: { status: number; body: string }) => err.status === 401 && /Invalid signature/.test(err.body));
});

test('CORS preflight for browser callers', async () => {
  const res = await fetch(`${h.httpUrl}/apps/${h.app.id}/events`, { method: 'OPTIONS', headers: { Origin: 'http://example.com', 'Access-Control-Request-Method': 'POST' } });
  assert.equal(res.status, 204);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/);
});

test('CORS headers go to browser requests (Origin) only, not to server SDK calls', async () => {
  const fromSdk = await server.trigger('cors-check', 'e', {});
  assert.equal(fromSdk.status, 200);
  assert.equal(fromSdk.headers.get('access-control-allow-origin'), null);
  const fromBrowser = await fetch(`${h.httpUrl}/health`, { headers: { Origin: 'http://example.com' } });
  assert.equal(fromBrowser.headers.get('access-control-allow-origin'), '*');
});

test('request bodies over the HTTP limit get 413', async () => {
  const big = 'x'.repeat(1024 * 1024 + 10);
  const res = await signed('POST', `/apps/${h.app.id}/events`, big);
  assert.equal(res.status, 413);
});

test('health and readiness', async () => {
  assert.deepEqual(await (await fetch(`${h.httpUrl}/health`)).json(), { status: 'ok' });
  assert.deepEqual(await (await fetch(`${h.httpUrl}/ready`)).json(), { status: 'ready' });
});

test('per-app API rate limit answers 429 with Retry-After', async () => {
  const limited = await startTestHerald({ app: { limits: { apiRequestsPerSecond: 3 } } as never });
  try {
    const sdk = limited.pusherServer();
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => sdk.trigger('c', 'e', {})));
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    assert.ok(refused.length >= 4, `${refused.length} refused`);
    for (const r of refused) {
      assert.equal(r.reason.status, 429);
      assert.match(r.reason.body, /Too many requests/);
    }
  } finally {
    await limited.stop();
  }
});

test('a batch to one channel reaches a subscriber complete and in order (frames of one pass share a write)', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  raw.send({ event: 'pusher:subscribe', data: { channel: 'ordered' } });
  await raw.waitEvent('pusher_internal:subscription_succeeded', 'ordered');
  const batch = Array.from({ length: 10 }, (_, n) => ({ channel: 'ordered', name: 'step', data: { n } }));
  const res = await server.triggerBatch(batch);
  assert.equal(res.status, 200);
  // waitEvent takes the earliest matching frame, so ten calls give the arrival order.
  const order: number[] = [];
  for (let i = 0; i < 10; i++) order.push((await raw.waitEvent('step', 'ordered')).data.n);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  raw.close();
});

test('while the broker is down every API call that needs it answers 503, terminate_connections included (it answered {} for a termination the broker dropped)', async (t) => {
  class DownBroker extends MemoryBroker {
    override healthy(): boolean {
      return false;
    }
  }
  const app = { id: 'down-app', key: 'down-key', secret: 'down-secret' };
  const herald = await startHerald({
    config: configSchema.parse({ host: '127.0.0.1', port: 0, dataDir: '/nonexistent-not-opened' }),
    apps: [parseApp(app)],
    logger: createLogger('silent', false),
    broker: new DownBroker(),
  });
  t.after(() => herald.close());
  const sdk = new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(herald.port), useTLS: false });
  const refused = (err: { status?: number; body?: string }) => err.status === 503 && /unavailable/.test(err.body ?? '');
  await assert.rejects(sdk.trigger('c', 'e', {}), refused, 'trigger');
  await assert.rejects(sdk.get({ path: '/channels', params: {} }), refused, 'channel list');
  await assert.rejects(sdk.terminateUserConnections('someone'), refused, 'terminate_connections');
});
