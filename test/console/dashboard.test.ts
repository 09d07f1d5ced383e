/**
 * The console as a dashboard, in Debian's chromium driven by playwright-core: create an app and
 * receive an event sent from the dashboard in stock pusher-js (browser build) using its key;
 * change settings and see them act on a live connection; allowed origins refuse a page with 4009;
 * add webhooks and see deliveries (a hostile receiver's error shown as text), retry and test-send;
 * usage charts; Beams; hostile app, channel and event names render as text; delete with
 * confirmation. Screenshots go to test-artifacts/ (and docs/images/ with HERALD_DOCS_SCREENSHOTS=1).
 */
import { BEAMS_SERVICE } from '../../src/beams/service.js';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import Pusher from 'pusher';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { eventually, withTimeout } from '../helpers/wait.js';

const CHROMIUM = process.env.HERALD_CHROMIUM ?? '/usr/bin/chromium';
const ADMIN_TOKEN = 'dashboard-test-admin-token-789';
const ARTIFACTS = 'test-artifacts';
const DOCS_IMAGES = process.env.HERALD_DOCS_SCREENSHOTS === '1' ? 'docs/images' : undefined;
const PUSHER_JS = createRequire(import.meta.url).resolve('pusher-js/dist/web/pusher.js');
const HOSTILE_NAME = '<img src=x onerror="window.__xss=1">Chat';
const HOSTILE_BODY = '<img src=x onerror="window.__xss=3">receiver error';

let h: TestHerald;
let browser: Browser;
let page: Page;
/** A page of the same origin running stock pusher-js clients. */
let clientPage: Page;
let receiver: Receiver;
let created: { appId: string; key: string; secret: string };

async function shot(name: string, target: Page = page): Promise<void> {
  await target.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
  if (DOCS_IMAGES) await target.screenshot({ path: `${DOCS_IMAGES}/${name}.png`, fullPage: true });
}

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  events: Array<{ name: string; channel: string }>;
}

/** A webhook receiver: `/ok` answers 200, `/fail` answers 500 with markup in its body until `failing` is false. */
class Receiver {
  readonly requests: Received[] = [];
  failing = true;
  private waiters: Array<() => void> = [];
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Receiver> {
    const server = createServer();
    const receiver = new Receiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        receiver.requests.push({ path: req.url ?? '', headers: req.headers, body, events: (JSON.parse(body) as { events: Received['events'] }).events });
        if (req.url === '/fail' && receiver.failing) res.writeHead(500, { 'Content-Type': 'text/html' }).end(HOSTILE_BODY);
        else res.writeHead(200).end('ok');
        for (const w of receiver.waiters) w();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  waitFor(check: (r: Received) => boolean, what: string): Promise<Received> {
    const find = () => this.requests.find(check);
    const found = find();
    if (found) return Promise.resolve(found);
    return withTimeout(new Promise<Received>((resolve) => this.waiters.push(() => {
      const hit = find();
      if (hit) resolve(hit);
    })), 15_000, what);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Opens a pusher-js client named `name` in the client page; resolves once connected (or refused). */
async function connectClient(name: string, key: string): Promise<'connected' | 'refused'> {
  return clientPage.evaluate(
    ([name, key, port]) =>
      new Promise<'connected' | 'refused'>((resolve) => {
        const w = window as any;
        const pusher = new w.Pusher(key, { cluster: 'herald', wsHost: '127.0.0.1', wsPort: Number(port), forceTLS: false, enabledTransports: ['ws'], disableStats: true });
        const client = { pusher, events: [] as unknown[], errors: [] as string[] };
        w.clients[name] = client;
        pusher.connection.bind('error', (e: unknown) => {
          client.errors.push(JSON.stringify(e));
          if (JSON.stringify(e).includes('4009')) resolve('refused');
        });
        pusher.connection.bind('connected', () => resolve('connected'));
      }),
    [name, key, String(h.port)] as const,
  );
}

/** Subscribes client `name` to `channel`, recording every event it gets there. */
async function subscribe(name: string, channel: string): Promise<void> {
  await clientPage.evaluate(
    ([name, channel]) =>
      new Promise<void>((resolve) => {
        const client = (window as any).clients[name];
        const ch = client.pusher.subscribe(channel);
        ch.bind_global((event: string, data: unknown) => client.events.push({ channel, event, data }));
        ch.bind('pusher:subscription_succeeded', () => resolve());
      }),
    [name, channel] as const,
  );
}

/** Waits until client `name` got `event` on `channel`; returns its data. */
async function received(name: string, channel: string, event: string): Promise<unknown> {
  const handle = await clientPage.waitForFunction(
    ([name, channel, event]) => (window as any).clients[name].events.find((e: any) => e.channel === channel && e.event === event) ?? false,
    [name, channel, event] as const,
    { timeout: 15_000 },
  );
  return ((await handle.jsonValue()) as { data: unknown }).data;
}

async function tab(name: string): Promise<void> {
  await page.getByRole('tab', { name, exact: true }).click();
}

async function saveSettings(): Promise<void> {
  await page.getByRole('button', { name: 'Save settings' }).click();
}

/** Waits until the served app (what connections are checked against) has these allowed origins. */
async function servedOrigins(expected: string[]): Promise<void> {
  await eventually(() => JSON.stringify(h.herald.apps.byId(created.appId)?.allowedOrigins) === JSON.stringify(expected), 10_000, `allowedOrigins ${expected.join(', ')}`);
}

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set HERALD_CHROMIUM`);
  mkdirSync(ARTIFACTS, { recursive: true });
  receiver = await Receiver.start();
  h = await startTestHerald({ config: { adminToken: ADMIN_TOKEN } });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  clientPage = await browser.newPage();
  await clientPage.goto(`${h.httpUrl}/health`);
  await clientPage.addScriptTag({ path: PUSHER_JS });
  await clientPage.evaluate(() => ((window as any).clients = {}));
});

after(async () => {
  await browser?.close();
  await h?.stop();
  await receiver?.close();
});

test('create an app in the dashboard; its secret is shown once with snippets; stock pusher-js with its key receives an event sent from the dashboard', async () => {
  await page.goto(`${h.httpUrl}/console`);
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('apps-table').getByText(h.app.id).first().waitFor();

  await page.getByLabel('App name').fill(HOSTILE_NAME);
  await page.getByRole('button', { name: 'Create app' }).click();
  const reveal = page.getByTestId('secret-once');
  await reveal.waitFor();
  created = {
    appId: (await page.getByTestId('new-app-id').textContent())!,
    key: (await page.getByTestId('new-app-key').textContent())!,
    secret: (await page.getByTestId('new-app-secret').textContent())!,
  };
  assert.match(created.secret, /^[0-9a-f]{32}$/);
  const snippet = page.getByTestId('snippet');
  assert.match((await snippet.textContent())!, new RegExp(`new Pusher\\("${created.key}"`));
  await reveal.getByRole('tab', { name: 'Laravel Echo' }).click();
  assert.ok((await snippet.textContent())!.includes(`PUSHER_APP_SECRET=${created.secret}`));
  await reveal.getByRole('tab', { name: 'pusher (Node SDK)' }).click();
  assert.ok((await snippet.textContent())!.includes(`secret: "${created.secret}"`));
  await shot('console-app-created');
  await page.getByRole('button', { name: 'Done, I saved the secret' }).click();
  await reveal.waitFor({ state: 'detached' });
  assert.ok(!(await page.content()).includes(created.secret), 'the secret is gone from the page');

  // The hostile app name is text, in the list and in the picker.
  const row = page.getByTestId('app-row').filter({ hasText: created.appId });
  await row.getByTestId('app-name').filter({ hasText: HOSTILE_NAME }).waitFor();
  await shot('console-apps');

  assert.equal(await connectClient('first', created.key), 'connected');
  await subscribe('first', 'dash-demo');
  await row.getByTestId('app-name').click();
  await page.getByTestId('connections').filter({ hasText: '1' }).waitFor({ timeout: 10_000 });
  await tab('Send event');
  await page.getByLabel('Channel', { exact: true }).fill('dash-demo');
  await page.getByLabel('Event', { exact: true }).fill('from-dashboard');
  await page.getByLabel('Data', { exact: true }).fill('{"sent":"from the dashboard"}');
  await page.getByRole('button', { name: 'Send event' }).click();
  assert.deepEqual(await received('first', 'dash-demo', 'from-dashboard'), { sent: 'from the dashboard' });
  assert.equal(await page.evaluate(() => (window as any).__xss), undefined);
});

test('settings: inline validation, and a saved change acts on the live connection', async () => {
  await tab('Settings');
  const maxMembers = page.getByLabel('Max presence members');
  await maxMembers.fill('0');
  await page.locator('[data-field="limits.maxPresenceMembers"]').getByRole('alert').filter({ hasText: 'must be at least 1' }).waitFor();
  await saveSettings();
  await page.getByRole('status').filter({ hasText: 'Fix the highlighted fields' }).waitFor();
  await maxMembers.fill('50');

  // The server's validation, shown beside the field it is about.
  await page.getByLabel('Allowed origins').fill('https://chat.example.com\nexa mple.com');
  await saveSettings();
  await page.locator('[data-field="allowedOrigins"]').getByRole('alert').filter({ hasText: '"exa mple.com" must be' }).waitFor();
  await page.getByLabel('Allowed origins').fill('');

  // Subscription count events, turned on while "first" is connected and subscribed.
  await page.getByLabel('Subscription count events').check();
  await saveSettings();
  await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
  await shot('console-settings');
  assert.equal(await connectClient('second', created.key), 'connected');
  await subscribe('second', 'dash-demo');
  assert.deepEqual(await received('first', 'dash-demo', 'pusher:subscription_count'), { subscription_count: 2 });
  assert.equal(h.herald.apps.byId(created.appId)!.limits.maxPresenceMembers, 50);
});

test('allowed origins set in the dashboard: a page from another origin is refused with 4009, a listed one connects', async () => {
  await page.getByLabel('Allowed origins').fill('https://only.example.com');
  await saveSettings();
  await servedOrigins(['https://only.example.com']);
  assert.equal(await connectClient('other-origin', created.key), 'refused');
  const errors = await clientPage.evaluate(() => (window as any).clients['other-origin'].errors as string[]);
  assert.ok(errors.some((e) => e.includes('4009') && e.includes('Origin not allowed')), errors.join('\n'));
  assert.equal(await clientPage.evaluate(() => (window as any).clients.first.pusher.connection.state), 'connected', 'open connections stay');

  await page.getByLabel('Allowed origins').fill(`https://only.example.com\n${h.httpUrl}`);
  await saveSettings();
  await servedOrigins(['https://only.example.com', h.httpUrl]);
  assert.equal(await connectClient('listed-origin', created.key), 'connected');
});

test('webhooks: add endpoints in the dashboard, see deliveries (a receiver\'s markup as text), retry now, test send, remove', async () => {
  await tab('Webhooks');
  await page.getByLabel('Endpoint URL').fill(receiver.url('/ok'));
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  await page.getByTestId('endpoint-row').filter({ hasText: receiver.url('/ok') }).waitFor();
  await page.getByLabel('Endpoint URL').fill(receiver.url('/fail'));
  await page.getByLabel('all event types').uncheck();
  await page.getByLabel('channel_occupied').check();
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  const failRow = page.getByTestId('endpoint-row').filter({ hasText: receiver.url('/fail') });
  await failRow.getByText('channel_occupied').waitFor();

  await subscribe('first', 'hooked-channel');
  const ok = await receiver.waitFor((r) => r.path === '/ok' && r.events.some((e) => e.name === 'channel_occupied' && e.channel === 'hooked-channel'), 'channel_occupied at /ok');
  const signature = createHmac('sha256', created.secret).update(ok.body).digest('hex');
  assert.equal(ok.headers['x-pusher-signature'], signature, 'signed with the secret shown at creation');
  assert.equal(ok.headers['x-pusher-key'], created.key);

  const deliveries = page.getByTestId('delivery-row');
  await deliveries.filter({ hasText: receiver.url('/ok') }).filter({ hasText: 'delivered (HTTP 200)' }).first().waitFor({ timeout: 15_000 });
  const failed = deliveries.filter({ hasText: receiver.url('/fail') }).filter({ hasText: 'failed (HTTP 500)' }).first();
  await failed.waitFor({ timeout: 15_000 });
  await failed.getByText(HOSTILE_BODY, { exact: false }).waitFor();
  await failRow.getByText('waiting').waitFor({ timeout: 10_000 });
  await shot('console-webhooks');

  receiver.failing = false;
  const before = receiver.requests.filter((r) => r.path === '/fail').length;
  await failRow.getByRole('button', { name: 'Retry now' }).click();
  await receiver.waitFor((r) => r.path === '/fail' && receiver.requests.filter((x) => x.path === '/fail').length > before, 'the retry at /fail');
  await deliveries.filter({ hasText: receiver.url('/fail') }).filter({ hasText: 'delivered (HTTP 200)' }).first().waitFor({ timeout: 15_000 });

  await page.getByTestId('endpoint-row').filter({ hasText: receiver.url('/ok') }).getByRole('button', { name: 'Test' }).click();
  await page.getByRole('status').filter({ hasText: `Test delivery to ${receiver.url('/ok')}: delivered (HTTP 200)` }).waitFor();
  await receiver.waitFor((r) => r.path === '/ok' && r.events[0]?.name === 'herald_test', 'the test delivery');

  await failRow.getByRole('button', { name: 'Remove…' }).click();
  await failRow.getByRole('button', { name: /^Remove \(/ }).click();
  await failRow.waitFor({ state: 'detached' });
  assert.deepEqual(h.herald.apps.byId(created.appId)!.webhooks.map((w) => w.url), [receiver.url('/ok')]);
  assert.equal(await page.evaluate(() => (window as any).__xss), undefined);
});

test('hostile channel and event names render as text', async () => {
  const channel = 'hostile-;=@,.-_channel';
  await subscribe('first', channel);
  const sdk = new Pusher({ appId: created.appId, key: created.key, secret: created.secret, host: '127.0.0.1', port: String(h.port) });
  await tab('Events');
  const hostileEvent = '<img src=x onerror="window.__xss=2">';
  await sdk.trigger(channel, hostileEvent, { html: '<script>window.__xss=4</script>' });
  const log = page.getByTestId('event-log');
  await log.getByText(`${hostileEvent} on ${channel}`, { exact: false }).waitFor({ timeout: 10_000 });
  await log.getByText('<script>window.__xss=4</script>', { exact: false }).waitFor();
  await tab('Channels');
  await page.getByTestId('channel-name').filter({ hasText: channel }).waitFor({ timeout: 10_000 });
  await shot('console-channels');
  // Text, not markup: no element came from the hostile strings and nothing ran.
  assert.equal(await page.evaluate(() => document.querySelectorAll('img, script:not([type=importmap]):not([src])').length), 0);
  assert.equal(await page.evaluate(() => (window as any).__xss), undefined);
});

test('usage: messages per day and peak connections per app over a chosen range', async () => {
  await tab('Usage');
  await page.getByTestId('messages-chart').waitFor();
  await page.getByRole('button', { name: '7 days' }).click();
  const today = new Date().toISOString().slice(0, 10);
  const weekAgo = new Date(Date.now() - 6 * 86_400_000).toISOString().slice(0, 10);
  await page.getByTestId('messages-chart').locator('figcaption span').first().filter({ hasText: weekAgo }).waitFor();
  await page.getByTestId('messages-chart').locator('figcaption span').last().filter({ hasText: today }).waitFor();
  assert.equal(await page.getByTestId('messages-chart').locator('rect').count(), 7, 'one bar per day of the range');
  const messages = Number((await page.getByTestId('today-messages').textContent())!.replace(/\D/g, ''));
  assert.ok(messages >= 2, `today's messages counted (${messages})`);
  const label = await page.getByTestId('connections-chart').locator('svg').getAttribute('aria-label');
  assert.match(label!, /peak [1-9]/);
  await shot('console-usage');
});

test('Beams: create an instance (its key shown once), see a test publish in the recent publishes', async () => {
  await tab('Beams');
  await page.getByText('Create an instance').click();
  await page.getByLabel('Instance id (optional, a UUID is generated)').fill('dashboard-beams');
  await page.getByRole('button', { name: 'Create instance' }).click();
  await page.getByTestId('beams-secret-once').waitFor();
  const secretKey = (await page.getByTestId('beams-secret').textContent())!;
  assert.match(secretKey, /^[0-9A-F]{64}$/);
  await page.getByRole('button', { name: 'Done, I saved the key' }).click();
  assert.ok(!(await page.content()).includes(secretKey));
  // Provider credentials: the Beams admin validation, shown as is; a valid change is stored.
  await page.getByLabel('Key ID').fill('ABC123DEFG');
  await page.getByLabel('Team ID').fill('TEAM123456');
  await page.getByLabel('Private key (.p8 contents)').fill('not a key');
  await page.getByRole('button', { name: 'Save APNs' }).click();
  await page.getByRole('status').filter({ hasText: 'must be a PEM private key' }).waitFor();
  await page.getByLabel('VAPID subject').fill('mailto:ops@example.com');
  await page.getByRole('button', { name: 'Save Web Push' }).click();
  await page.getByRole('status').filter({ hasText: 'Web Push settings saved' }).waitFor();
  const beams = h.herald.services.get(BEAMS_SERVICE)!;
  const stored = await beams.instances.get('dashboard-beams');
  assert.equal(stored!.settings.web.vapidSubject, 'mailto:ops@example.com');
  assert.equal(stored!.settings.apns, undefined, 'the refused APNs settings were not stored');

  await page.getByRole('button', { name: 'Publish' }).click();
  await page.getByRole('status').filter({ hasText: 'Published pubid-' }).waitFor();
  await page.getByTestId('publishes').getByText('hello').waitFor({ timeout: 10_000 });
  await shot('console-beams');
});

test('rotate the secret, then delete the app with confirmation: its live connections are closed', async () => {
  await page.getByRole('combobox', { name: 'App' }).selectOption(created.appId);
  await tab('Settings');
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  const fresh = (await page.getByTestId('new-app-secret').textContent())!;
  assert.notEqual(fresh, created.secret);
  await page.getByRole('button', { name: 'Done, I saved the secret' }).click();
  await page.getByRole('listitem').filter({ hasText: created.key }).getByRole('button', { name: 'Stop accepting' }).click();
  await page.getByRole('status').filter({ hasText: 'no longer accepted' }).waitFor();

  await page.getByRole('button', { name: 'Delete app…' }).click();
  const confirm = page.getByRole('button', { name: 'Delete permanently' });
  assert.equal(await confirm.isDisabled(), true, 'nothing happens before the id is typed');
  await page.getByLabel('Type the app id').fill(created.appId);
  await confirm.click();
  await page.getByRole('tab', { name: 'Apps', selected: true }).waitFor();
  await page.getByTestId('app-row').filter({ hasText: created.appId }).waitFor({ state: 'detached' });
  await clientPage.waitForFunction(() => (window as any).clients.first.pusher.connection.state !== 'connected', undefined, { timeout: 10_000 });
  assert.equal(h.herald.apps.byId(created.appId), undefined);
});
