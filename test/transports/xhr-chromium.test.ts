/**
 * The web build of pusher-js (with encryption) in Debian's Chromium, driven by playwright-core,
 * over xhr_streaming and xhr_polling — and with the default strategy while the WebSocket port is
 * unreachable. The page is served from another origin, as an app's page would be (CORS).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import type Pusher from 'pusher';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';

const CHROMIUM = process.env.HERALD_CHROMIUM ?? '/usr/bin/chromium';
const require = createRequire(import.meta.url);
const PUSHER_JS = readFileSync(require.resolve('pusher-js/dist/web/pusher-with-encryption.js'), 'utf8');
const masterKey = randomBytes(32).toString('base64');

let h: TestHerald;
let server: Pusher;
let site: Server;
let siteUrl: string;
let browser: Browser;
let deadPort: number;

/** The app's own site: a page, the pusher-js bundle, and auth endpoints answered by the pusher SDK. */
function startSite(): Promise<void> {
  site = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url === '/pusher.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(PUSHER_JS);
      if (req.url === '/auth') {
        const channel = form.get('channel_name')!;
        const presence = channel.startsWith('presence-') ? { user_id: 'browser-user', user_info: { where: 'chromium' } } : undefined;
        return json(server.authorizeChannel(form.get('socket_id')!, channel, presence));
      }
      if (req.url === '/user-auth') return json(server.authenticateUser(form.get('socket_id')!, { id: 'browser-user' }));
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>xhr</title><script src="/pusher.js"></script>');
    });
  });
  return new Promise((resolve) =>
    site.listen(0, '127.0.0.1', () => {
      siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
      resolve();
    }),
  );
}

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium or set HERALD_CHROMIUM`);
  h = await startTestHerald();
  server = h.pusherServer({ encryptionMasterKeyBase64: masterKey });
  await startSite();
  const closed = createTcpServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  deadPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (site ? site.close(() => resolve()) : resolve()));
  await h?.stop();
});

/** Opens the page and connects pusher-js there; resolves with the transport it connected over. */
async function connectInPage(page: Page, enabledTransports: string[] | undefined): Promise<string> {
  await page.goto(siteUrl);
  return page.evaluate(
    ({ key, port, deadPort, enabledTransports }) =>
      new Promise<string>((resolve, reject) => {
        const w = window as any;
        w.client = new w.Pusher(key, {
          cluster: 'local',
          forceTLS: false,
          httpHost: '127.0.0.1',
          httpPort: port,
          wsHost: '127.0.0.1',
          wsPort: enabledTransports ? port : deadPort,
          enabledTransports,
          channelAuthorization: { endpoint: '/auth', transport: 'ajax' },
          userAuthentication: { endpoint: '/user-auth', transport: 'ajax' },
        });
        w.received = [];
        w.client.connection.bind('connected', () => resolve(w.client.connection.connection.transport.name ?? w.client.connection.connection.name));
        setTimeout(() => reject(new Error('not connected within 15 s')), 15_000);
      }),
    { key: h.app.key, port: h.port, deadPort, enabledTransports },
  );
}

/** Subscribes in the page; every event of the channel is recorded in window.received. */
function subscribeInPage(page: Page, channel: string): Promise<void> {
  return page.evaluate(
    (name) =>
      new Promise<void>((resolve, reject) => {
        const w = window as any;
        const ch = w.client.subscribe(name);
        ch.bind('pusher:subscription_succeeded', () => resolve());
        ch.bind('pusher:subscription_error', (e: unknown) => reject(new Error(JSON.stringify(e))));
        ch.bind_global((event: string, data: unknown) => {
          if (!event.startsWith('pusher')) w.received.push({ channel: name, event, data });
        });
      }),
    channel,
  );
}

function receivedInPage(page: Page, channel: string, event: string): Promise<unknown> {
  return page
    .waitForFunction(
      ({ channel, event }) => (window as any).received.find((r: any) => r.channel === channel && r.event === event),
      { channel, event },
      { timeout: 10_000 },
    )
    .then((handle) => handle.jsonValue())
    .then((r) => (r as { data: unknown }).data);
}

for (const transport of ['xhr_streaming', 'xhr_polling']) {
  describe(`Chromium, pusher-js web build over ${transport}`, () => {
    test('public, private, presence, encrypted and cache channels; client events; API events; sign-in; reconnect', async () => {
      const page = await browser.newPage();
      try {
        assert.equal(await connectInPage(page, [transport]), transport);
        const suffix = transport;
        for (const name of [`pub-${suffix}`, `private-${suffix}`, `presence-${suffix}`, `private-encrypted-${suffix}`]) await subscribeInPage(page, name);
        await server.trigger(`pub-${suffix}`, 'e', { n: 1 });
        await server.trigger(`private-encrypted-${suffix}`, 'secret', { n: 2 });
        assert.deepEqual(await receivedInPage(page, `pub-${suffix}`, 'e'), { n: 1 });
        assert.deepEqual(await receivedInPage(page, `private-encrypted-${suffix}`, 'secret'), { n: 2 }, 'decrypted in the browser');

        await server.trigger(`cache-${suffix}`, 'last', { n: 3 });
        await subscribeInPage(page, `cache-${suffix}`);
        assert.deepEqual(await receivedInPage(page, `cache-${suffix}`, 'last'), { n: 3 });

        // A client event from the browser reaches a Node pusher-js client on a WebSocket, and back.
        const peer = h.pusherClient({ channelAuthorization: { customHandler: (p: { socketId: string; channelName: string }, cb: (e: null, d: unknown) => void) => cb(null, server.authorizeChannel(p.socketId, p.channelName, { user_id: 'node-user' })) } });
        const peerChannel = peer.subscribe(`presence-${suffix}`);
        await new Promise((resolve) => peerChannel.bind('pusher:subscription_succeeded', resolve));
        const atPeer = new Promise((resolve) => peerChannel.bind('client-hi', resolve));
        await page.evaluate((name) => (window as any).client.channel(name).trigger('client-hi', { from: 'chromium' }), `presence-${suffix}`);
        assert.deepEqual(await atPeer, { from: 'chromium' });
        peerChannel.trigger('client-hi', { from: 'node' });
        assert.deepEqual(await receivedInPage(page, `presence-${suffix}`, 'client-hi'), { from: 'node' });
        const members = await page.evaluate((name) => (window as any).client.channel(name).members.count, `presence-${suffix}`);
        assert.equal(members, 2);
        peer.disconnect();

        await page.evaluate(
          () =>
            new Promise<void>((resolve) => {
              const w = window as any;
              w.client.user.bind('note', (data: unknown) => w.received.push({ channel: '#user', event: 'note', data }));
              w.client.connection.bind('message', (m: any) => m.event === 'pusher_internal:subscription_succeeded' && m.channel?.startsWith('#server-to-user-') && resolve());
              w.client.signin();
            }),
        );
        await server.sendToUser('browser-user', 'note', { n: 4 });
        assert.deepEqual(await receivedInPage(page, '#user', 'note'), { n: 4 });

        const firstId = await page.evaluate(() => (window as any).client.connection.socket_id);
        await page.evaluate(() => {
          const w = window as any;
          w.reconnected = new Promise((resolve) => w.client.connection.bind('connected', resolve));
        });
        h.herald.engine.closeAll(4200, 'Reconnect please');
        await page.evaluate(() => (window as any).reconnected);
        assert.notEqual(await page.evaluate(() => (window as any).client.connection.socket_id), firstId);
        await page.waitForFunction((name) => (window as any).client.channel(name).subscribed, `pub-${suffix}`);
        await server.trigger(`pub-${suffix}`, 'after', { n: 5 });
        assert.deepEqual(await receivedInPage(page, `pub-${suffix}`, 'after'), { n: 5 });
      } finally {
        await page.evaluate(() => (window as any).client?.disconnect()).catch(() => undefined);
        await page.close();
      }
    });
  });
}

test('Chromium: the default strategy falls back to HTTP while the WebSocket port is unreachable', async () => {
  const page = await browser.newPage();
  try {
    const transport = await connectInPage(page, undefined);
    assert.ok(transport === 'xhr_streaming' || transport === 'xhr_polling', transport);
    await subscribeInPage(page, 'chromium-fallback');
    await server.trigger('chromium-fallback', 'e', { via: transport });
    assert.deepEqual(await receivedInPage(page, 'chromium-fallback', 'e'), { via: transport });
  } finally {
    await page.evaluate(() => (window as any).client?.disconnect()).catch(() => undefined);
    await page.close();
  }
});
