import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'herald-config-'));

test('defaults: port 6001 and a development app', () => {
  const { config, apps, usingDevelopmentApp } = loadConfig({ env: {} });
  assert.equal(config.port, 6001);
  assert.equal(usingDevelopmentApp, true);
  assert.deepEqual([apps[0]!.id, apps[0]!.key, apps[0]!.secret], ['app-id', 'app-key', 'app-secret']);
});

test('precedence: flags > env > file > defaults', () => {
  const file = join(dir, 'c.yaml');
  writeFileSync(file, 'port: 7000\nhost: 127.0.0.2\nactivityTimeout: 50\napp:\n  id: file-app\n  key: file-key\n  secret: file-secret\n');
  const fromFile = loadConfig({ argv: ['--config', file], env: {} });
  assert.equal(fromFile.config.port, 7000);
  assert.equal(fromFile.apps[0]!.id, 'file-app');
  const fromEnv = loadConfig({ argv: ['--config', file], env: { HERALD_PORT: '7100', HERALD_APP_ID: 'env-app' } });
  assert.equal(fromEnv.config.port, 7100);
  assert.equal(fromEnv.apps[0]!.id, 'env-app');
  assert.equal(fromEnv.apps[0]!.key, 'file-key', 'other app fields still from the file');
  const fromFlags = loadConfig({ argv: ['--config', file, '--port', '7200', '--app-id=flag-app'], env: { HERALD_PORT: '7100' } });
  assert.equal(fromFlags.config.port, 7200);
  assert.equal(fromFlags.apps[0]!.id, 'flag-app');
  assert.equal(fromFlags.config.host, '127.0.0.2');
  assert.equal(fromFlags.config.activityTimeout, 50);
});

test('JSON config files with several apps', () => {
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ apps: [{ id: 'a1', key: 'k1', secret: 'secret-1' }, { id: 'a2', key: 'k2', secret: 'secret-2', clientEvents: false }] }));
  const { apps, usingDevelopmentApp } = loadConfig({ argv: ['--config', file], env: {} });
  assert.equal(usingDevelopmentApp, false);
  assert.deepEqual(apps.map((a) => [a.id, a.clientEvents]), [['a1', true], ['a2', false]]);
});

test('HERALD_APP_CLIENT_EVENTS and HERALD_APP_WEBHOOK_URL', () => {
  const { apps } = loadConfig({ env: { HERALD_APP_ID: 'a', HERALD_APP_KEY: 'k', HERALD_APP_SECRET: 'secret-12', HERALD_APP_CLIENT_EVENTS: 'false', HERALD_APP_WEBHOOK_URL: 'http://a.example/h, http://b.example/h' } });
  assert.equal(apps[0]!.clientEvents, false);
  assert.deepEqual(apps[0]!.webhooks.map((w) => w.url), ['http://a.example/h', 'http://b.example/h']);
});

test('invalid configuration names the setting and what is wrong', () => {
  const cases: Array<[Parameters<typeof loadConfig>[0], RegExp]> = [
    [{ env: { HERALD_PORT: 'abc' } }, /HERALD_PORT: expected a whole number, got "abc"/],
    [{ env: { HERALD_PORT: '70000' } }, /port \(HERALD_PORT \/ --port\): .*65535/],
    [{ env: { HERALD_APP_CLIENT_EVENTS: 'maybe' } }, /HERALD_APP_CLIENT_EVENTS: expected true or false/],
    [{ env: { HERALD_APP_ID: 'only-id' } }, /HERALD_APP_KEY, HERALD_APP_SECRET/],
    [{ env: { HERALD_APP_ID: 'a', HERALD_APP_KEY: 'k', HERALD_APP_SECRET: 'short' } }, /app\.secret.*at least 8/],
    [{ env: { HERALD_BROKER: 'kafka' } }, /broker \(HERALD_BROKER/],
    [{ argv: ['--nope', '1'], env: {} }, /Unknown option --nope/],
    [{ argv: ['--port'], env: {} }, /--port: missing value/],
    [{ argv: ['--config', join(dir, 'missing.yaml')], env: {} }, /cannot read file/],
    [{ env: { HERALD_APP_WEBHOOK_URL: 'ftp://x' } }, /HERALD_APP_WEBHOOK_URL/],
    [{ env: { HERALD_DATABASE_URL: 'mysql://x' } }, /databaseUrl \(HERALD_DATABASE_URL.*postgres/],
  ];
  for (const [options, pattern] of cases) {
    assert.throws(() => loadConfig(options), (err: Error) => err instanceof ConfigError && pattern.test(err.message), String(pattern));
  }
});
