/**
 * Managing Beams instances: the default instance from HERALD_BEAMS_* config (with the default module
 * list, i.e. the registration in src/server/modules.ts), the admin API and `herald beams …`
 * against both a running server (--url) and a store directly (--data-dir).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import PushNotifications from '@pusher/push-notifications-server';
import { runBeams } from '../../src/cli/beams.js';
import { startBeamsHerald, type BeamsHerald } from './helpers.js';
import { apnsCredentials, serviceAccount } from './fakes/keys.js';

const ADMIN = 'admin-token-for-beams-tests';

async function cli(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runBeams([...argv, '--json'], { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), env });
  return { code, stderr, json: stdout ? JSON.parse(stdout) : undefined };
}

describe('Beams instances: env default, admin API, CLI', () => {
  let h: BeamsHerald;
  const defaultId = `env-instance-${process.pid}`;

  before(async () => {
    h = await startBeamsHerald({ defaultModules: true, config: { adminToken: ADMIN, beamsInstanceId: defaultId, beamsSecretKey: 'env-secret-key-1' } });
  });

  after(async () => {
    await h?.stop();
  });

  test('the default instance from configuration serves the Publish API', async () => {
    assert.ok(h.service, 'the Beams module is in defaultModules()');
    const beams = new PushNotifications({ instanceId: defaultId, secretKey: 'env-secret-key-1', endpoint: '127.0.0.1', port: h.th.port } as PushNotifications.Options);
    const { publishId } = await beams.publishToInterests(['nobody-listens'], { web: { notification: { title: 'hi' } } });
    assert.match(publishId, /^pubid-/);
  });

  test('admin API: auth, create, show, update, rotate, delete', async () => {
    const call = async (method: string, path: string, body?: unknown, token: string | null = ADMIN) => {
      const res = await fetch(`${h.th.httpUrl}/admin/beams/instances${path}`, {
        method,
        headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
    };
    assert.equal((await call('GET', '', undefined, null)).status, 401);
    assert.equal((await call('GET', '', undefined, 'wrong-token-wrong-token')).status, 401);

    const apns = apnsCredentials();
    const { account } = serviceAccount('https://oauth2.googleapis.com/token');
    const created = await call('POST', '', {
      id: `admin-${process.pid}`,
      name: 'Shop',
      apns: { keyId: apns.keyId, teamId: apns.teamId, privateKey: apns.privateKeyPem, topic: apns.topic },
      fcm: { serviceAccount: account },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.id, `admin-${process.pid}`);
    assert.match(created.body.secretKey, /^[0-9A-F]{64}$/);
    assert.equal(created.body.apns.privateKey, '[configured]');
    assert.equal(created.body.apns.endpoint, 'https://api.push.apple.com');
    assert.equal(created.body.fcm.projectId, account.project_id);
    assert.equal(created.body.web.vapidPrivateKey, '[configured]');
    assert.equal(Buffer.from(created.body.web.vapidPublicKey, 'base64url').length, 65);
    assert.ok(!JSON.stringify(created.body).includes('PRIVATE KEY'), 'no private key material in responses');
    assert.equal((await call('POST', '', { id: `admin-${process.pid}` })).status, 409);
    assert.equal((await call('POST', '', { apns: { keyId: 'x' } })).status, 400);
    assert.equal((await call('POST', '', { surprise: true })).status, 400);

    const list = await call('GET', '');
    assert.ok(list.body.instances.some((i: any) => i.id === defaultId));
    const shown = await call('GET', `/admin-${process.pid}`);
    assert.deepEqual(shown.body.devices, { apns: 0, fcm: 0, web: 0 });

    const patched = await call('PATCH', `/admin-${process.pid}`, { apns: null, limits: { publishesPerSecond: 5 } });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.apns, null);
    assert.equal(patched.body.limits.publishesPerSecond, 5);
    assert.equal(patched.body.web.vapidPublicKey, created.body.web.vapidPublicKey, 'VAPID keys are kept');

    const rotated = await call('POST', `/admin-${process.pid}/rotate-secret`);
    assert.notEqual(rotated.body.secretKey, created.body.secretKey);
    const oldKey = new PushNotifications({ instanceId: `admin-${process.pid}`, secretKey: created.body.secretKey, endpoint: '127.0.0.1', port: h.th.port } as PushNotifications.Options);
    await assert.rejects(oldKey.deleteUser('x'), /401/);

    assert.equal((await call('DELETE', `/admin-${process.pid}`)).status, 200);
    assert.equal((await call('GET', `/admin-${process.pid}`)).status, 404);
  });

  test('herald beams … --url talks to the running server', async () => {
    const env = { HERALD_ADMIN_TOKEN: ADMIN };
    const created = await cli(['create', '--id', `cli-remote-${process.pid}`, '--url', h.th.httpUrl], env);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.json.id, `cli-remote-${process.pid}`);
    const listed = await cli(['list', '--url', h.th.httpUrl], env);
    assert.ok(listed.json.instances.some((i: any) => i.id === `cli-remote-${process.pid}`));
    assert.equal((await cli(['delete', `cli-remote-${process.pid}`, '--url', h.th.httpUrl], env)).code, 2, 'delete needs --yes');
    assert.equal((await cli(['delete', `cli-remote-${process.pid}`, '--yes', '--url', h.th.httpUrl], env)).code, 0);
    const missing = await cli(['show', `cli-remote-${process.pid}`, '--url', h.th.httpUrl], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not found/);
  });
});

describe('herald beams on a store directly', () => {
  test('create, show, update with provider files, rotate, delete', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'herald-beams-cli-'));
    try {
      const apns = apnsCredentials();
      const { account } = serviceAccount('https://oauth2.googleapis.com/token');
      writeFileSync(join(dataDir, 'AuthKey.p8'), apns.privateKeyPem);
      writeFileSync(join(dataDir, 'sa.json'), JSON.stringify(account));
      const dir = ['--data-dir', join(dataDir, 'store')];
      const created = await cli(['create', '--id', 'cli-direct', '--name', 'Direct', ...dir]);
      assert.equal(created.code, 0, created.stderr);
      assert.equal(created.json.apns, null);
      const updated = await cli([
        'update', 'cli-direct', ...dir,
        '--apns-key-file', join(dataDir, 'AuthKey.p8'), '--apns-key-id', apns.keyId, '--apns-team-id', apns.teamId,
        '--apns-topic', apns.topic, '--apns-environment', 'development',
        '--fcm-service-account', join(dataDir, 'sa.json'), '--publish-rate', '0',
      ]);
      assert.equal(updated.code, 0, updated.stderr);
      assert.equal(updated.json.apns.endpoint, 'https://api.sandbox.push.apple.com');
      assert.equal(updated.json.fcm.clientEmail, account.client_email);
      assert.equal(updated.json.limits.publishesPerSecond, 0);
      const rotated = await cli(['rotate-secret', 'cli-direct', ...dir]);
      assert.notEqual(rotated.json.secretKey, created.json.secretKey);
      const bad = await cli(['update', 'cli-direct', ...dir, '--vapid-subject', 'not-a-url']);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /vapidSubject/);
      assert.equal((await cli(['delete', 'cli-direct', '--yes', ...dir])).code, 0);
      assert.deepEqual((await cli(['list', ...dir])).json, { instances: [] });
      assert.equal((await cli(['frobnicate', ...dir])).code, 2);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
