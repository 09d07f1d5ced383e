/**
 * docs/migrating.md's examples, run as written: a Laravel .env made for Pusher or Reverb, and
 * Soketi's variables and config file, start Herald unchanged; the `pusher` server SDK configured as
 * Laravel's broadcasting.php does and Laravel Echo configured as its docs say (with stock pusher-js)
 * exchange an event through it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Echo from 'laravel-echo';
import Pusher from 'pusher';
import { PusherJs } from '../helpers/pusher-js.js';
import { withTimeout } from '../helpers/wait.js';
import { startChildHerald, type ChildHerald } from '../ops/child-herald.js';
import { heraldApps } from '../apps/cli-support.js';

const EXAMPLES = fileURLToPath(new URL('../../docs/examples/migrating/', import.meta.url));

/** A .env file as Laravel's dotenv reads it: KEY=value, quotes stripped, ${VAR} expanded. */
function readEnv(name: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(join(EXAMPLES, name), 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    env[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1').replace(/\$\{([A-Z0-9_]+)\}/g, (_, v: string) => env[v] ?? '');
  }
  return env;
}

/** A variable the example .env must set: its absence fails the test by name. */
function setting(env: Record<string, string>, name: string): string {
  const value = env[name];
  assert.ok(value !== undefined, `the example .env sets ${name}`);
  return value;
}

/** Starts `herald start` with nothing but the example's variables (HERALD_APP_* cleared). */
async function startWith(env: Record<string, string>, args: string[] = []): Promise<ChildHerald> {
  return startChildHerald(args, { HERALD_APP_ID: '', HERALD_APP_KEY: '', HERALD_APP_SECRET: '', ...env });
}

/** Echo subscribes to `channel`, the server SDK triggers, Echo receives. */
async function roundTrip(echo: Echo<'pusher' | 'reverb'>, sdk: Pusher, channel: string): Promise<unknown> {
  const ch = echo.channel(channel);
  await withTimeout(new Promise<void>((resolve) => ch.subscribed(() => resolve())), 15_000, 'Echo subscription');
  const got = withTimeout(new Promise((resolve) => ch.listen('.order.shipped', resolve)), 10_000, 'event through Echo');
  await sdk.trigger(channel, 'order.shipped', { order: 42 });
  return got;
}

test('Laravel .env made for Pusher: PUSHER_APP_* configure the default app; broadcasting.php + Echo work', async (t) => {
  const env = readEnv('laravel-pusher.env');
  const herald = await startWith(env);
  t.after(() => herald.cleanup());
  assert.ok(herald.lines.some((l) => /Apps: laravel-app \(key laravel-key\)/.test(l)), herald.lines.join('\n'));
  assert.ok(herald.lines.some((l) => /PUSHER_APP_CLUSTER ignored/.test(l)), 'the start-up log says which variables were used');

  // config/broadcasting.php, 'pusher' connection: key/secret/app_id and options host/port/scheme/useTLS.
  const sdk = new Pusher({ appId: setting(env, 'PUSHER_APP_ID'), key: setting(env, 'PUSHER_APP_KEY'), secret: setting(env, 'PUSHER_APP_SECRET'), host: setting(env, 'PUSHER_HOST'), port: String(herald.port), useTLS: env.PUSHER_SCHEME === 'https' });
  // resources/js/echo.js for Pusher-compatible servers.
  const echo = new Echo({
    broadcaster: 'pusher',
    key: env.VITE_PUSHER_APP_KEY,
    cluster: env.VITE_PUSHER_APP_CLUSTER,
    wsHost: env.VITE_PUSHER_HOST,
    wsPort: herald.port,
    wssPort: herald.port,
    forceTLS: env.VITE_PUSHER_SCHEME === 'https',
    enabledTransports: ['ws', 'wss'],
    Pusher: PusherJs,
  });
  t.after(() => echo.disconnect());
  assert.deepEqual(await roundTrip(echo, sdk, 'orders'), { order: 42 });
});

test('Laravel .env made for Reverb: REVERB_APP_* configure the default app; the reverb connection + Echo work', async (t) => {
  const env = readEnv('laravel-reverb.env');
  const herald = await startWith(env);
  t.after(() => herald.cleanup());
  assert.ok(herald.lines.some((l) => /Apps: reverb-app \(key reverb-key\)/.test(l)), herald.lines.join('\n'));

  // config/broadcasting.php, 'reverb' connection: the pusher PHP SDK with these options.
  const sdk = new Pusher({ appId: setting(env, 'REVERB_APP_ID'), key: setting(env, 'REVERB_APP_KEY'), secret: setting(env, 'REVERB_APP_SECRET'), host: setting(env, 'REVERB_HOST'), port: String(herald.port), useTLS: env.REVERB_SCHEME === 'https' });
  const echo = new Echo({
    broadcaster: 'reverb',
    key: env.VITE_REVERB_APP_KEY,
    wsHost: env.VITE_REVERB_HOST,
    wsPort: herald.port,
    wssPort: herald.port,
    forceTLS: env.VITE_REVERB_SCHEME === 'https',
    enabledTransports: ['ws', 'wss'],
    Pusher: PusherJs,
  });
  t.after(() => echo.disconnect());
  assert.deepEqual(await roundTrip(echo, sdk, 'orders'), { order: 42 });
});

test('Soketi: SOKETI_DEFAULT_APP_* and `herald apps import --from-soketi` carry the apps over', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-soketi-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const imported = await heraldApps(['import', '--from-soketi', join(EXAMPLES, 'soketi-config.json'), '--data-dir', dataDir]);
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stdout, /shop +created/);
  assert.match(imported.stdout, /blog +created/);
  assert.match(imported.stdout, /channel_name_ends_with "-room" has no equivalent/);
  assert.match(imported.stdout, /AWS Lambda webhooks have no equivalent/);
  assert.match(imported.stdout, /limits\.apiRequestsPerSecond 150/);

  const shown = await heraldApps(['show', 'shop', '--data-dir', dataDir, '--json']);
  const shop = JSON.parse(shown.stdout);
  assert.equal(shop.clientEvents, true);
  assert.equal(shop.limits.maxConnections, 5000);
  assert.equal(shop.limits.clientEventsPerSecond, 20);
  assert.equal(shop.limits.maxPresenceMembers, 50);
  assert.equal(shop.limits.maxPresenceUserInfoBytes, 2048);
  assert.equal(shop.limits.maxPayloadBytes, 32768);
  assert.equal(shop.limits.maxBatchSize, 20);
  assert.deepEqual(shop.webhooks, [{ url: 'http://127.0.0.1:9/soketi-hooks', events: ['member_added', 'member_removed'], headers: { 'X-Source': 'soketi' }, channelPrefix: 'presence-' }]);
  const again = await heraldApps(['import', '--from-soketi', join(EXAMPLES, 'soketi-config.json'), '--data-dir', dataDir]);
  assert.match(again.stdout, /shop +skipped: an app with this id exists/, 'a second import leaves existing apps alone');

  const herald = await startWith(readEnv('soketi.env'), ['--data-dir', dataDir]);
  t.after(() => herald.cleanup());
  const banner = herald.lines.find((l) => l.startsWith('Apps: ')) ?? '';
  for (const app of ['soketi-app (key soketi-key)', 'shop (key shop-key)', 'blog (key blog-key)']) assert.ok(banner.includes(app), banner);

  for (const [appId, key, secret] of [['soketi-app', 'soketi-key', 'soketi-secret-123'], ['shop', 'shop-key', 'shop-secret-123']] as const) {
    const sdk = new Pusher({ appId, key, secret, host: '127.0.0.1', port: String(herald.port), useTLS: false });
    const echo = new Echo({ broadcaster: 'pusher', key, cluster: 'mt1', wsHost: '127.0.0.1', wsPort: herald.port, forceTLS: false, enabledTransports: ['ws'], Pusher: PusherJs });
    try {
      assert.deepEqual(await roundTrip(echo, sdk, `orders-${appId}`), { order: 42 });
    } finally {
      echo.disconnect();
    }
  }
});
