/**
 * The explorer page in a real browser (Debian's chromium through playwright-core): a query over
 * HTTP, and a subscription over graphql-ws that shows an event triggered by the stock pusher SDK.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { TestHerald } from '../helpers/herald.js';
import { eventually } from '../helpers/wait.js';
import { startGraphqlHerald, streamsStarted } from './support.js';

const CHROMIUM = process.env.HERALD_CHROMIUM ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
let h: TestHerald;
let browser: Browser;
let page: Page;

before(async () => {
  if (!available) return;
  h = await startGraphqlHerald();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage();
});

after(async () => {
  await browser?.close();
  await h?.stop();
});

const skip = available ? false : `Chromium not found at ${CHROMIUM} (set HERALD_CHROMIUM)`;

test('runs a query and a live subscription from the page', { skip }, async () => {
  const problems: string[] = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${h.httpUrl}/graphql`);
  await page.fill('#user', h.app.key);
  await page.fill('#secret', h.app.secret);
  await page.fill('#query', '{ app { id } }');
  await page.click('#run');
  await page.waitForFunction(() => document.getElementById('result')!.textContent!.includes('"app"'), undefined, { timeout: 10_000 });
  assert.deepEqual(JSON.parse((await page.textContent('#result'))!), { data: { app: { id: h.app.id } } });

  const before = streamsStarted(h);
  await page.fill('#query', 'subscription { channelEvents(channel: "explorer") { name data { json } } }');
  await page.click('#run');
  await eventually(() => streamsStarted(h) > before, 10_000, 'the page subscription');
  await h.pusherServer().trigger('explorer', 'shown', { from: 'sdk' });
  await page.waitForFunction(() => document.getElementById('result')!.textContent!.includes('shown'), undefined, { timeout: 10_000 });
  assert.match((await page.textContent('#result'))!, /"from": "sdk"/);
  await page.click('#stop');
  assert.deepEqual(problems, []);
});
