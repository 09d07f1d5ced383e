/** HERALD_APP_WEBHOOK_URL and the webhook settings; endpoint filters, header hygiene, signing vector. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseApp } from '../../src/apps/app.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/platform/logger.js';
import { startHerald } from '../../src/server/herald.js';
import { customHeaders, endpointsFor } from '../../src/webhooks/endpoints.js';
import { buildSignedRequest } from '../../src/webhooks/http-post.js';
import { backoffDelay, webhookSettings } from '../../src/webhooks/settings.js';
import { RawClient } from '../helpers/raw-client.js';
import { WAIT_MS } from './support.js';
import { WebhookReceiver } from './receiver.js';

describe('webhook configuration', () => {
  it('HERALD_APP_WEBHOOK_URL adds every listed URL, for all event types, to the default app', () => {
    const { apps } = loadConfig({
      env: {
        HERALD_APP_ID: 'env-app',
        HERALD_APP_KEY: 'env-key',
        HERALD_APP_SECRET: 'env-secret-123',
        HERALD_APP_WEBHOOK_URL: ' http://a.example/hooks , https://b.example/x?y=1 ,',
      },
    });
    assert.equal(apps[0]!.id, 'env-app');
    assert.deepEqual(apps[0]!.webhooks, [{ url: 'http://a.example/hooks' }, { url: 'https://b.example/x?y=1' }]);
    assert.equal(apps[0]!.webhookBatching, true);
    // Without any app configured it goes to the development app.
    const dev = loadConfig({ env: { HERALD_APP_WEBHOOK_URL: 'http://c.example/' } });
    assert.equal(dev.usingDevelopmentApp, true);
    assert.deepEqual(dev.apps[0]!.webhooks, [{ url: 'http://c.example/' }]);
  });

  it('refuses a non-http(s) webhook URL with a clear error', () => {
    assert.throws(() => loadConfig({ env: { HERALD_APP_WEBHOOK_URL: 'ftp://x.example/a' } }), (err: Error) => err instanceof ConfigError && /HERALD_APP_WEBHOOK_URL/.test(err.message));
  });

  it('reads the retry, timeout and batching settings from the environment', () => {
    const { config } = loadConfig({
      env: { HERALD_WEBHOOK_RETRY_SECONDS: '120', HERALD_WEBHOOK_TIMEOUT_MS: '2500', HERALD_WEBHOOK_BACKOFF_MAX_MS: '5000', HERALD_WEBHOOK_BATCH_MAX_EVENTS: '7', HERALD_WEBHOOK_VACATE_DELAY_MS: '0' },
    });
    const settings = webhookSettings(config);
    assert.equal(settings.retryMs, 120_000);
    assert.equal(settings.timeoutMs, 2500);
    assert.equal(settings.batchMaxEvents, 7);
    assert.equal(settings.vacateDelayMs, 0);
    for (let attempt = 1; attempt < 40; attempt++) assert.ok(backoffDelay(settings, attempt) <= 5000);
    const defaults = webhookSettings(loadConfig({ env: {} }).config);
    assert.equal(defaults.retryMs, 3_600_000);
    assert.equal(defaults.timeoutMs, 10_000);
    assert.equal(defaults.vacateDelayMs, 3000);
    assert.throws(() => loadConfig({ env: { HERALD_WEBHOOK_RETRY_SECONDS: 'soon' } }), /HERALD_WEBHOOK_RETRY_SECONDS: expected a whole number/);
    assert.throws(() => loadConfig({ env: { HERALD_WEBHOOK_TIMEOUT_MS: '5' } }), /webhookTimeoutMs \(HERALD_WEBHOOK_TIMEOUT_MS/);
  });

  it('routes by event type and channel prefix; an empty event list receives nothing', () => {
    const app = parseApp({
      id: 'r',
      key: 'rk',
      secret: 'secret-123',
      webhooks: [
        { url: 'http://all.example/' },
        { url: 'http://members.example/', events: ['member_added', 'member_removed'] },
        { url: 'http://private.example/', channelPrefix: 'private-' },
        { url: 'http://none.example/', events: [] },
        { url: 'http://all.example/', events: ['cache_miss'] },
      ],
    });
    assert.deepEqual(endpointsFor(app, { name: 'member_added', channel: 'presence-a', user_id: 'u' }), ['http://all.example/', 'http://members.example/']);
    assert.deepEqual(endpointsFor(app, { name: 'channel_occupied', channel: 'private-x' }), ['http://all.example/', 'http://private.example/']);
    // Seed 004: no filter means Pusher's six types; subscription_count only where it is listed.
    for (const name of ['channel_occupied', 'channel_vacated', 'client_event', 'cache_miss'] as const) {
      assert.ok(endpointsFor(app, { name, channel: 'x' } as never).includes('http://all.example/'), name);
    }
    assert.deepEqual(endpointsFor(app, { name: 'subscription_count', channel: 'x', subscription_count: 1 }), []);
    const optedIn = parseApp({ id: 's', key: 'sk', secret: 'secret-123', webhooks: [{ url: 'http://counts.example/', events: ['subscription_count'] }] });
    assert.deepEqual(endpointsFor(optedIn, { name: 'subscription_count', channel: 'x', subscription_count: 1 }), ['http://counts.example/']);
  });

  it('sends only safe custom headers and never lets them replace the signed ones', () => {
    const headers = customHeaders({ url: 'http://x.example/', headers: { 'X-Token': 'abc', 'content-type': 'text/plain', 'X-Pusher-Signature': 'forged', 'X-Bad': 'a\r\nInjected: 1', 'Bad Name': 'v' } });
    assert.deepEqual(headers, { 'X-Token': 'abc' });
  });

  it('skips custom header values Node cannot send (control characters, beyond Latin-1) instead of failing every delivery', () => {
    const headers = customHeaders({ url: 'http://x.example/', headers: { 'X-Ok': 'caf\u00e9\tv', 'X-Euro': '5 \u20ac', 'X-Ctl': 'a\u0001b', 'X-Del': 'a\u007fb' } });
    assert.deepEqual(headers, { 'X-Ok': 'caf\u00e9\tv' });
    // What is kept is accepted by node:http (a refused header would fail every request to the endpoint).
    assert.doesNotThrow(() => http.request('http://127.0.0.1:1/', { headers }).on('error', () => undefined).destroy());
  });

  it('signs the exact body bytes (spec test vector)', () => {
    const signed = buildSignedRequest({ key: 'key', secret: '7ad3773142a6692b25b8' }, 1327078148132, ['{"name":"channel_occupied","channel":"my-channel"}']);
    assert.equal(signed.body.toString(), '{"time_ms":1327078148132,"events":[{"name":"channel_occupied","channel":"my-channel"}]}');
    assert.equal(signed.headers['X-Pusher-Signature'], 'c19001ae3963ccb13bf618e5b16ba9848e7e74df0993aa0689168e341c6833cf');
    assert.equal(signed.headers['Content-Type'], 'application/json');
    assert.equal(signed.headers['X-Pusher-Key'], 'key');
  });

  it('a Herald configured only through the environment delivers to HERALD_APP_WEBHOOK_URL', async () => {
    const app = { id: 'env-e2e', key: 'env-e2e-key', secret: 'env-e2e-secret' };
    const receiver = await WebhookReceiver.start(app);
    const dataDir = mkdtempSync(join(tmpdir(), 'herald-webhook-env-'));
    const { config, apps } = loadConfig({
      env: {
        HERALD_HOST: '127.0.0.1',
        HERALD_PORT: '0',
        HERALD_DATA_DIR: dataDir,
        HERALD_APP_ID: app.id,
        HERALD_APP_KEY: app.key,
        HERALD_APP_SECRET: app.secret,
        HERALD_APP_WEBHOOK_URL: receiver.url,
      },
    });
    const herald = await startHerald({ config, apps, logger: createLogger('silent', false) });
    try {
      const raw = await RawClient.established(`ws://127.0.0.1:${herald.port}`, app.key);
      raw.send({ event: 'pusher:subscribe', data: { channel: 'env-channel' } });
      await receiver.waitUntil(() => receiver.deliveredMatching('channel_occupied', 'env-channel').length === 1, WAIT_MS, 'channel_occupied');
      raw.close();
      assert.equal(receiver.invalidCount, 0);
    } finally {
      await herald.close();
      await receiver.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
