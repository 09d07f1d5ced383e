/** Other servers' variables for the default app (PUSHER_APP_*, REVERB_APP_*, SOKETI_DEFAULT_APP_*), and Soketi's app format. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { fromSoketiApp, soketiAppsOf } from '../../src/config/soketi.js';

test('PUSHER_APP_ID/KEY/SECRET configure the default app; PUSHER_APP_CLUSTER is ignored and said so', () => {
  const loaded = loadConfig({ env: { PUSHER_APP_ID: '1001', PUSHER_APP_KEY: 'pk', PUSHER_APP_SECRET: 'pusher-secret', PUSHER_APP_CLUSTER: 'mt1' } });
  assert.equal(loaded.usingDevelopmentApp, false);
  assert.deepEqual([loaded.apps[0]!.id, loaded.apps[0]!.key, loaded.apps[0]!.secret], ['1001', 'pk', 'pusher-secret']);
  assert.deepEqual(loaded.warnings, []);
  assert.match(loaded.notices.join('\n'), /PUSHER_APP_ID, PUSHER_APP_KEY, PUSHER_APP_SECRET \(PUSHER_APP_CLUSTER ignored/);
});

test('empty alias variables (a Laravel .env with PUSHER_APP_ID=) count as unset', () => {
  const loaded = loadConfig({ env: { PUSHER_APP_ID: '', PUSHER_APP_KEY: '', PUSHER_APP_SECRET: '' } });
  assert.equal(loaded.usingDevelopmentApp, true);
  assert.deepEqual(loaded.notices, []);
});

test("Herald's own settings win over aliases, with a warning naming both", () => {
  const loaded = loadConfig({
    argv: ['--app-secret', 'flag-secret-1'],
    env: { HERALD_APP_ID: 'herald-id', HERALD_APP_KEY: 'herald-key', HERALD_APP_SECRET: 'env-secret-1', PUSHER_APP_ID: 'p-id', PUSHER_APP_KEY: 'p-key', PUSHER_APP_SECRET: 'p-secret-1' },
  });
  assert.deepEqual([loaded.apps[0]!.id, loaded.apps[0]!.key, loaded.apps[0]!.secret], ['herald-id', 'herald-key', 'flag-secret-1']);
  const warnings = loaded.warnings.join('\n');
  assert.match(warnings, /PUSHER_APP_ID is ignored: HERALD_APP_ID is set too/);
  assert.match(warnings, /PUSHER_APP_KEY is ignored: HERALD_APP_KEY is set too/);
  assert.match(warnings, /PUSHER_APP_SECRET is ignored: --app-secret is set too/);
});

test('a config file value wins over an alias too; fields Herald does not set still come from the alias', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-alias-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'herald.yaml'), 'app:\n  id: file-id\n');
  const loaded = loadConfig({ argv: ['--config', join(dir, 'herald.yaml')], env: { PUSHER_APP_ID: 'p', PUSHER_APP_KEY: 'p-key', PUSHER_APP_SECRET: 'p-secret-1' } });
  assert.equal(loaded.apps[0]!.id, 'file-id');
  assert.equal(loaded.apps[0]!.key, 'p-key');
  assert.match(loaded.warnings.join('\n'), /PUSHER_APP_ID is ignored: app\.id in .*herald\.yaml is set too/);
});

test('SOKETI_DEFAULT_APP_* win over REVERB_APP_* and PUSHER_APP_* (warned); Soketi defaults kept', () => {
  const loaded = loadConfig({
    env: {
      SOKETI_DEFAULT_APP_ID: 's-id',
      SOKETI_DEFAULT_APP_KEY: 's-key',
      SOKETI_DEFAULT_APP_SECRET: 's-secret-1',
      SOKETI_DEFAULT_APP_MAX_CONNS: '-1',
      SOKETI_DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SEC: '5',
      SOKETI_DEFAULT_APP_USER_AUTHENTICATION: 'true',
      SOKETI_DEFAULT_APP_WEBHOOKS: '[{"url":"http://hooks.example/s","event_types":["channel_occupied"]}]',
      PUSHER_APP_ID: 'p-id',
    },
  });
  const app = loaded.apps[0]!;
  assert.equal(app.id, 's-id');
  assert.equal(app.clientEvents, false, "Soketi's default: client events off unless SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES=true");
  assert.equal(app.limits.maxConnections, 0, '-1 (unlimited) → 0');
  assert.equal(app.limits.clientEventsPerSecond, 5);
  assert.equal(app.userAuthentication.required, true);
  assert.deepEqual(app.webhooks, [{ url: 'http://hooks.example/s', events: ['channel_occupied'] }]);
  assert.match(loaded.warnings.join('\n'), /PUSHER_APP_ID is ignored: SOKETI_DEFAULT_APP_ID sets the default app's id too/);
  assert.throws(() => loadConfig({ env: { SOKETI_DEFAULT_APP_MAX_CONNS: 'lots' } }), (err: Error) => err instanceof ConfigError && /SOKETI_DEFAULT_APP_MAX_CONNS: expected a number/.test(err.message));
});

test('an alias that gives only part of the credentials names what it gave', () => {
  assert.throws(
    () => loadConfig({ env: { PUSHER_APP_KEY: 'k' } }),
    (err: Error) => err instanceof ConfigError && /HERALD_APP_ID, HERALD_APP_SECRET/.test(err.message) && /from PUSHER_APP_KEY only: key/.test(err.message),
  );
});

test('Soketi app mapping: camelCase or snake_case, -1 = unlimited, KB → bytes, notes for the rest', () => {
  const { app, notes } = fromSoketiApp({
    id: 7,
    key: 'k',
    secret: 'secret-123',
    max_connections: '-1',
    enable_client_messages: 'true',
    maxEventNameLength: 50,
    maxEventChannelsAtOnce: 10,
    maxBackendEventsPerSecond: 10,
    maxPresenceMemberSizeInKb: 0.5,
    webhooks: [{ url: 'http://x.example/h', event_types: ['client_event', 'bogus'], lambda: undefined }],
    maxReadRequestsPerSecond: -1,
    created_at: '2024-01-01',
  });
  assert.equal(app.id, '7');
  assert.equal(app.clientEvents, true);
  assert.deepEqual(app.limits, { maxConnections: 0, maxEventNameLength: 50, maxChannelsPerPublish: 10, maxPresenceUserInfoBytes: 512 });
  assert.deepEqual(app.webhooks, [{ url: 'http://x.example/h', events: ['client_event'] }]);
  const text = notes.join('\n');
  assert.match(text, /maxBackendEventsPerSecond has no exact equivalent/);
  assert.match(text, /"bogus" do not exist in Herald/);
  assert.match(text, /created_at: no equivalent/);
  assert.equal(fromSoketiApp({ id: 'a', key: 'b', secret: 'c'.repeat(8) }).app.clientEvents, false, "Soketi's default");
});

test('soketiAppsOf finds appManager.array.apps nested or as a dotted key, and explains a file without it', () => {
  assert.equal(soketiAppsOf({ appManager: { array: { apps: [{ id: 'a' }] } } }).length, 1);
  assert.equal(soketiAppsOf({ 'appManager.array.apps': [{}, {}] }).length, 2);
  assert.throws(() => soketiAppsOf({ appManager: { driver: 'mysql' } }), /no appManager\.array\.apps list/);
  assert.throws(() => soketiAppsOf([]), /not a JSON object/);
});
