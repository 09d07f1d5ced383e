/** Typed errors (status + body), timeouts, and how proxy/keepAlive behave on this runtime (Node). */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ChannelsClient,
  HeraldConfigurationError,
  HeraldHttpError,
  HeraldNetworkError,
  HeraldResponseError,
  HeraldSdkError,
  HeraldTimeoutError,
} from '../../src/sdk/index.js';
import { checkConnectionSettings, detectRuntime } from '../../src/sdk/runtime.js';
import { startCaptureServer, type CaptureServer } from './capture-server.js';

let server: CaptureServer;
before(async () => {
  server = await startCaptureServer();
});
after(() => server.close());

const client = (extra: Record<string, unknown> = {}, options: Record<string, unknown> = {}) =>
  new ChannelsClient({ appId: '1', key: 'k', secret: 's', host: '127.0.0.1', port: server.port, ...extra } as never, options);

test('2xx JSON bodies are parsed; empty bodies become {}', async () => {
  server.respondWith({ status: 200, body: '{"channels":{"presence-a":{"user_count":2}}}' });
  assert.deepEqual(await client().listChannels({ filterByPrefix: 'presence-', info: 'user_count' }), { channels: { 'presence-a': { user_count: 2 } } });
  server.respondWith({ status: 200, body: '' });
  assert.deepEqual(await client().terminateUserConnections({ userId: 'u' }), {});
});

test('non-2xx answers reject with HeraldHttpError carrying status and body', async () => {
  server.respondWith({ status: 413, body: 'Payload too large: 20000 > 10240 bytes' });
  const error = await client().triggerEvent({ channel: 'c', event: 'e', data: 'x' }).catch((e: unknown) => e);
  assert.ok(error instanceof HeraldHttpError && error instanceof HeraldSdkError);
  assert.equal(error.status, 413);
  assert.equal(error.body, 'Payload too large: 20000 > 10240 bytes');
  assert.equal(error.code, 'http_error');
  assert.equal(error.method, 'POST');
  assert.match(error.message, /^POST http:\/\/127\.0\.0\.1:\d+\/apps\/1\/events failed with status 413: Payload too large/);
  assert.ok(!error.message.includes('auth_signature'), 'message shows the path only');

  server.respondWith({ status: 400, body: '{"error":"Invalid channel"}' });
  const json = await client().getChannel({ channelName: 'x' }).catch((e: unknown) => e);
  assert.ok(json instanceof HeraldHttpError);
  assert.deepEqual(json.json, { error: 'Invalid channel' });
});

test('a 2xx answer that is not JSON rejects with HeraldResponseError', async () => {
  server.respondWith({ status: 200, body: '<html>proxy login</html>' });
  const error = await client().listChannels().catch((e: unknown) => e);
  assert.ok(error instanceof HeraldResponseError);
  assert.equal(error.status, 200);
  assert.equal(error.body, '<html>proxy login</html>');
});

test('timeout (ms) aborts with HeraldTimeoutError', async () => {
  server.respondWith({ hang: true });
  const error = await client({ timeout: 50 }).listChannels().catch((e: unknown) => e);
  assert.ok(error instanceof HeraldTimeoutError && error instanceof HeraldNetworkError);
  assert.equal(error.timeoutMs, 50);
  assert.equal(error.code, 'timeout');
  server.respondWith({ status: 200, body: '{}' });
});

test('connection failures reject with HeraldNetworkError', async () => {
  const closed = await startCaptureServer();
  const port = closed.port;
  await closed.close();
  const error = await new ChannelsClient({ appId: '1', key: 'k', secret: 's', host: '127.0.0.1', port }).listChannels().catch((e: unknown) => e);
  assert.ok(error instanceof HeraldNetworkError);
  assert.equal(error.code, 'network_error');
});

test('this process is detected as Node', () => {
  assert.equal(detectRuntime(), 'node');
});

test('Node without undici: proxy fails clearly at the first request, keepAlive:false warns', async (t) => {
  let undiciInstalled = true;
  try {
    await import('undici' as string);
  } catch {
    undiciInstalled = false;
  }
  if (undiciInstalled) {
    t.skip('undici is installed, so proxy and keepAlive:false are applied through it instead');
    return;
  }
  const proxied = client({ proxy: 'http://127.0.0.1:9' });
  await assert.rejects(proxied.listChannels(), (error: unknown) => {
    assert.ok(error instanceof HeraldConfigurationError);
    assert.equal(error.parameter, 'proxy');
    assert.match(error.message, /undici/);
    return true;
  });
  const warnings: string[] = [];
  server.respondWith({ status: 200, body: '{}' });
  await client({ keepAlive: false }, { onWarning: (m: string) => warnings.push(m) }).listChannels();
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /keepAlive: false needs the "undici" package/);
});

test('edge runtimes refuse proxy at construction and warn about keepAlive:false', () => {
  const warnings: string[] = [];
  assert.throws(
    () => checkConnectionSettings({ proxy: 'http://p:1', keepAlive: undefined, runtime: 'edge', warn: (m) => warnings.push(m) }, false),
    HeraldConfigurationError,
  );
  checkConnectionSettings({ proxy: undefined, keepAlive: false, runtime: 'edge', warn: (m) => warnings.push(m) }, false);
  assert.equal(warnings.length, 1);
});

test('a custom fetch receives the request; proxy/keepAlive are then its job (with a warning)', async () => {
  const calls: Array<{ url: string; init: Record<string, unknown> }> = [];
  const warnings: string[] = [];
  const custom = new ChannelsClient(
    { appId: '1', key: 'k', secret: 's', cluster: 'eu', proxy: 'http://proxy:3128' },
    {
      fetch: async (url, init) => {
        calls.push({ url, init });
        return { status: 200, text: async () => '{"occupied":false}' };
      },
      onWarning: (m) => warnings.push(m),
      clock: () => 1_000_000,
    },
  );
  assert.equal(warnings.length, 1);
  assert.deepEqual(await custom.getChannel({ channelName: 'x' }), { occupied: false });
  assert.equal(calls.length, 1);
  assert.match(calls[0].url, /^http:\/\/api-eu\.pusher\.com\/apps\/1\/channels\/x\?auth_key=k&auth_timestamp=1000&auth_version=1\.0&auth_signature=[0-9a-f]{64}$/);
  assert.equal(calls[0].init.method, 'GET');
  assert.equal(calls[0].init.body, undefined);
  assert.deepEqual(calls[0].init.headers, { 'x-pusher-library': 'herald-sdk-js 0.1.0' });
});
