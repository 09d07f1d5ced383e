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
import { createServer, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

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

/** A minimal HTTP CONNECT proxy that records the targets it tunnelled to. */
async function startConnectProxy() {
  const targets: string[] = [];
  const proxy = createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => {
    targets.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host!, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, targets, close: () => new Promise<void>((resolve) => { proxy.closeAllConnections(); proxy.close(() => resolve()); }) };
}

test('proxy works with what npm install installs: requests are tunnelled through the proxy', async () => {
  const proxy = await startConnectProxy();
  try {
    server.respondWith({ status: 200, body: '{"channels":{}}' });
    const warnings: string[] = [];
    assert.deepEqual(await client({ proxy: proxy.url }, { onWarning: (m: string) => warnings.push(m) }).listChannels(), { channels: {} });
    assert.deepEqual(proxy.targets, [`127.0.0.1:${server.port}`]);
    assert.deepEqual(warnings, []);
  } finally {
    await proxy.close();
  }
});

test('keepAlive: false opens a new connection per request; the default reuses one', async () => {
  const countConnections = async (extra: Record<string, unknown>) => {
    const before = server.connections();
    const sdk = client(extra, { onWarning: (m: string) => assert.fail(m) });
    for (let i = 0; i < 3; i++) {
      server.respondWith({ status: 200, body: '{}' });
      await sdk.listChannels();
    }
    return server.connections() - before;
  };
  assert.equal(await countConnections({ keepAlive: false }), 3);
  assert.ok((await countConnections({})) <= 1, 'the default pools one connection (possibly one already open)');
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
  const [call] = calls;
  assert.ok(call && calls.length === 1, 'one request');
  assert.match(call.url, /^http:\/\/api-eu\.pusher\.com\/apps\/1\/channels\/x\?auth_key=k&auth_timestamp=1000&auth_version=1\.0&auth_signature=[0-9a-f]{64}$/);
  assert.equal(call.init.method, 'GET');
  assert.equal(call.init.body, undefined);
  assert.deepEqual(call.init.headers, { 'x-pusher-library': 'herald-sdk-js 0.1.0' });
});
