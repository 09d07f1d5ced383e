/**
 * The console in a real browser: Debian's chromium driven by playwright-core. Signs in, watches a
 * pusher-js client connect and subscribe, sees an event sent with the pusher SDK, and sends a test
 * event from the form that pusher-js receives. Screenshots go to test-artifacts/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { nextEvent } from '../helpers/wait.js';

const CHROMIUM = process.env.HERALD_CHROMIUM ?? '/usr/bin/chromium';
const ADMIN_TOKEN = 'console-test-admin-token-123';
const ARTIFACTS = 'test-artifacts';

let h: TestHerald;
let browser: Browser;
let page: Page;

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set HERALD_CHROMIUM`);
  mkdirSync(ARTIFACTS, { recursive: true });
  h = await startTestHerald({ config: { adminToken: ADMIN_TOKEN } });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
});

after(async () => {
  await browser?.close();
  await h?.stop();
});

test('a wrong token is refused with a visible message', async () => {
  await page.goto(`${h.httpUrl}/console`);
  await page.getByLabel('Admin token').fill('wrong-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Invalid admin token' }).waitFor();
});

test('sign in, watch a pusher-js client subscribe and an SDK event arrive, send an event from the form', async () => {
  await page.goto(`${h.httpUrl}/console`);
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('tab', { name: 'Events' }).click();
  const log = page.getByTestId('event-log');
  await log.waitFor({ state: 'attached' });

  const client = h.pusherClient();
  const channel = client.subscribe('console-demo');
  await nextEvent(channel, 'pusher:subscription_succeeded');
  await log.getByText('subscribed to console-demo').waitFor({ timeout: 10_000 });
  await log.getByText(`${client.connection.socket_id}`).first().waitFor();

  await h.pusherServer().trigger('console-demo', 'sdk-event', { from: 'the pusher SDK' });
  await log.getByText('sdk-event on console-demo').waitFor({ timeout: 10_000 });
  await page.screenshot({ path: `${ARTIFACTS}/console-events.png`, fullPage: true });

  await page.getByRole('tab', { name: 'Overview' }).click();
  await page.getByTestId('connections').filter({ hasText: '1' }).waitFor({ timeout: 10_000 });
  await page.screenshot({ path: `${ARTIFACTS}/console-overview.png`, fullPage: true });

  await page.getByRole('tab', { name: 'Channels' }).click();
  await page.getByTestId('channel-name').filter({ hasText: 'console-demo' }).waitFor({ timeout: 10_000 });

  await page.getByRole('tab', { name: 'Send event' }).click();
  await page.getByLabel('Channel', { exact: true }).fill('console-demo');
  await page.getByLabel('Event', { exact: true }).fill('from-console');
  await page.getByLabel('Data', { exact: true }).fill('{"sent":"from the console form"}');
  const received = nextEvent(channel, 'from-console', 10_000);
  await page.getByRole('button', { name: 'Send event' }).click();
  assert.deepEqual(await received, { sent: 'from the console form' });
  await page.getByRole('status').filter({ hasText: 'Sent from-console to console-demo' }).waitFor();
  await page.screenshot({ path: `${ARTIFACTS}/console-send.png`, fullPage: true });
  client.disconnect();
});

test('the send form reports validation errors from the same rules as the HTTP API', async () => {
  await page.getByRole('tab', { name: 'Send event' }).click();
  await page.getByLabel('Channel', { exact: true }).fill('bad channel name');
  await page.getByRole('button', { name: 'Send event' }).click();
  await page.getByRole('status').filter({ hasText: 'Invalid channel name' }).waitFor();
});

test('stays responsive under 1,000+ events per second: the log is sampled, never unbounded', async () => {
  await page.getByRole('tab', { name: 'Events' }).click();
  const client = h.pusherClient();
  const channel = client.subscribe('firehose');
  await nextEvent(channel, 'pusher:subscription_succeeded');
  const sdk = h.pusherServer();
  // 2,000 API events in 200 batch requests, as fast as the SDK can send them.
  for (let i = 0; i < 200; i++) {
    await sdk.triggerBatch(Array.from({ length: 10 }, (_, j) => ({ channel: 'firehose', name: `burst-${i * 10 + j}`, data: '{}' })));
  }
  await page.getByText('sampled out').waitFor({ timeout: 15_000 });
  // The page still answers promptly and keeps a bounded log.
  const rows = await page.evaluate(() => document.querySelectorAll('[data-testid=event-log] li').length);
  assert.ok(rows <= 500, `log is bounded (${rows} rows)`);
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.getByRole('button', { name: 'Resume' }).waitFor();
  await page.getByRole('button', { name: 'Resume' }).click();
  client.disconnect();
});

test('works on a narrow screen', async () => {
  await page.setViewportSize({ width: 380, height: 760 });
  await page.getByRole('tab', { name: 'Overview' }).click();
  await page.getByTestId('connections').waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling (overflow ${overflow}px)`);
  await page.screenshot({ path: `${ARTIFACTS}/console-narrow.png`, fullPage: true });
});
