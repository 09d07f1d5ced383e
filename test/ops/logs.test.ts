/** Structured logs: access log at debug with request ids, and secrets never written. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { parseApp } from '../../src/apps/app.js';
import { startHerald } from '../../src/server/herald.js';
import { censor, REDACT_PATHS } from '../../src/platform/logger.js';

function capture(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: pino({ level, redact: { paths: REDACT_PATHS, censor } }, stream) };
}

test('debug access log: one line per request with the request id, no query string', async (t) => {
  const { lines, logger } = capture('debug');
  const herald = await startHerald({
    config: configSchema.parse({ host: '127.0.0.1', port: 0, dataDir: '/nonexistent-not-opened' }),
    apps: [parseApp({ id: 'log-app', key: 'log-key', secret: 'log-secret-123' })],
    logger,
    modules: [],
  });
  t.after(() => herald.close());

  const res = await fetch(`${herald.url}/apps/log-app/channels?auth_signature=deadbeef`, { headers: { 'X-Request-Id': 'trace-42' } });
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('x-request-id'), 'trace-42', 'the caller’s request id is echoed');
  const generated = (await fetch(`${herald.url}/health`)).headers.get('x-request-id');
  const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  assert.match(generated ?? '', UUID_V4, 'a UUID-shaped request id is generated otherwise');
  const next = (await fetch(`${herald.url}/health`)).headers.get('x-request-id');
  assert.match(next ?? '', UUID_V4);
  assert.notEqual(next, generated, 'each request gets its own id');

  const access = lines.filter((l) => l.msg === 'http request');
  const line = access.find((l) => l.reqId === 'trace-42');
  assert.ok(line, 'access line with the request id');
  assert.equal(line.level, 20);
  assert.equal(line.method, 'GET');
  assert.equal(line.path, '/apps/log-app/channels');
  assert.equal(line.route, 'GET /apps/:appId/channels');
  assert.equal(line.status, 401);
  assert.equal(typeof line.ms, 'number');
  assert.ok(!JSON.stringify(lines).includes('deadbeef'), 'query strings (signatures) are not logged');
  assert.ok(access.some((l) => l.reqId === generated));
});

test('no access log above debug', async (t) => {
  const { lines, logger } = capture('info');
  const herald = await startHerald({
    config: configSchema.parse({ host: '127.0.0.1', port: 0, dataDir: '/nonexistent-not-opened' }),
    apps: [parseApp({ id: 'log-app', key: 'log-key', secret: 'log-secret-123' })],
    logger,
    modules: [],
  });
  t.after(() => herald.close());
  await fetch(`${herald.url}/health`);
  assert.equal(lines.filter((l) => l.msg === 'http request').length, 0);
});

test('secrets are redacted wherever they appear', () => {
  const { lines, logger } = capture('info');
  logger.info(
    {
      config: {
        adminToken: 'admin-token-value-123456',
        databaseUrl: 'postgres://herald:db-password@db:5432/herald',
        redisUrl: 'redis://:redis-password@cache:6379',
        apps: [{ id: 'a', key: 'k', secret: 'app-secret-value', extraCredentials: [{ key: 'k2', secret: 'old-secret-value' }] }],
      },
      app: { id: 'a', secret: 'app-secret-value' },
      req: { headers: { authorization: 'Bearer beams-token', cookie: 'session=s' } },
      vapidPrivateKey: 'vapid-private',
      beams: { privateKey: 'apns-key' },
    },
    'config loaded',
  );
  const text = JSON.stringify(lines);
  for (const secret of ['admin-token-value', 'db-password', 'redis-password', 'app-secret-value', 'old-secret-value', 'beams-token', 'session=s', 'vapid-private', 'apns-key']) {
    assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  }
  const config = lines[0]!.config as Record<string, unknown>;
  assert.equal(config.databaseUrl, 'postgres://herald:[redacted]@db:5432/herald', 'URLs keep everything but the password');
  assert.equal(config.redisUrl, 'redis://:[redacted]@cache:6379');
  assert.equal((lines[0]!.app as Record<string, unknown>).id, 'a', 'non-secret fields stay');
});
