/**
 * Delivery behaviour: devices whose tokens a gateway rejects for good are removed (APNs 410 /
 * BadDeviceToken, FCM UNREGISTERED, Web Push 410), background APNs pushes, and a publish in flight
 * when Herald stops is finished by the next Herald on the same data directory.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import PushNotifications from '@pusher/push-notifications-server';
import { once, withTimeout } from '../helpers/wait.js';
import { seedEmbeddedDataDir } from '../../src/apps/data-dir.js';
import { apnsToken, bulkRegister, createFakeInstance, startBeamsHerald, startFakes, waitForPublish, type BeamsHerald, type Fakes } from './helpers.js';

describe('Beams delivery', () => {
  let fakes: Fakes;
  let h: BeamsHerald;

  before(async () => {
    fakes = await startFakes();
    h = await startBeamsHerald();
  });

  after(async () => {
    await h?.stop();
    await fakes?.close();
  });

  test('invalid tokens reported by a gateway remove the device; others stay', async () => {
    const instance = await createFakeInstance(h.service, fakes);
    const gone = [apnsToken(), apnsToken()];
    const kept = apnsToken();
    fakes.apns.unregistered.add(gone[0]!);
    fakes.apns.badTokens.add(gone[1]!);
    fakes.fcm.unregistered.add('fcm-gone');
    const webGone = fakes.web.subscribe('web-gone');
    const webKept = fakes.web.subscribe('web-kept');
    fakes.web.gone.add('web-gone');
    const db = await h.db();
    await bulkRegister(db, instance.id, [
      ...gone.map((token) => ({ platform: 'apns' as const, token, interests: ['prune'] })),
      { platform: 'apns', token: kept, interests: ['prune'] },
      { platform: 'fcm', token: 'fcm-gone', interests: ['prune'] },
      { platform: 'fcm', token: 'fcm-kept', interests: ['prune'] },
      { platform: 'web', token: webGone.token, interests: ['prune'] },
      { platform: 'web', token: webKept.token, interests: ['prune'] },
    ]);
    const beams = new PushNotifications({ instanceId: instance.id, secretKey: instance.secretKey, endpoint: '127.0.0.1', port: h.th.port } as PushNotifications.Options);
    const { publishId } = await beams.publishToInterests(['prune'], {
      apns: { aps: { alert: 'x' } },
      fcm: { notification: { title: 'x' } },
      web: { notification: { title: 'x' } },
    });
    const status = await waitForPublish(h.service, instance.id, publishId);
    assert.equal(status.delivered, 3);
    assert.equal(status.removedDevices, 4);
    assert.equal(status.failed, 0);
    const left = await db.query<{ token: string }>('SELECT token FROM beams_devices WHERE instance_id = $1 ORDER BY token', [instance.id]);
    assert.deepEqual(left.map((r) => r.token).sort(), [kept, 'fcm-kept', webKept.token].sort());
    assert.deepEqual(fakes.apns.errors, []);
  });

  test('background pushes use apns-push-type background and priority 5; header keys go to headers', async () => {
    const instance = await createFakeInstance(h.service, fakes);
    const token = apnsToken();
    await bulkRegister(await h.db(), instance.id, [{ platform: 'apns', token, interests: ['bg'] }]);
    const beams = new PushNotifications({ instanceId: instance.id, secretKey: instance.secretKey, endpoint: 'localhost', port: h.th.port } as PushNotifications.Options);
    const { publishId } = await beams.publishToInterests(['bg'], {
      apns: { aps: { 'content-available': 1 } as any, collapse_id: 'sync', expiration: 1900000000, data: { sync: true } } as any,
    });
    await waitForPublish(h.service, instance.id, publishId);
    const got = fakes.apns.received.find((r) => r.token === token)!;
    assert.equal(got.headers['apns-push-type'], 'background');
    assert.equal(got.headers['apns-priority'], '5');
    assert.equal(got.headers['apns-collapse-id'], 'sync');
    assert.equal(got.headers['apns-expiration'], '1900000000');
    assert.deepEqual(got.body, { aps: { 'content-available': 1 }, data: { sync: true, pusher: { instanceId: instance.id, publishId, hasDisplayableContent: false, hasData: true } } });
  });

  test('a publish with no provider configured for a platform fails those devices without removing them', async () => {
    const instance = await h.service.instances.create({ id: `bare-${process.pid}`, web: { allowedEndpointHosts: ['127.0.0.1'], allowInsecureEndpoints: true } });
    await bulkRegister(await h.db(), instance.id, [{ platform: 'apns', token: apnsToken(), bundleId: 'com.x', interests: ['t'] }]);
    const publishId = await h.service.publish(instance, { kind: 'interests', targets: ['t'], payload: { apns: { aps: { alert: 'x' } } } });
    const status = await waitForPublish(h.service, instance.id, publishId);
    assert.equal(status.failed, 1);
    assert.match(String(status.error), /APNs is not configured/);
    assert.equal((await (await h.db()).query('SELECT 1 FROM beams_devices WHERE instance_id = $1', [instance.id])).length, 1);
  });
});

describe('Beams delivery survives a restart', () => {
  test('a publish interrupted by shutdown is completed by the next Herald on the same store', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'herald-beams-restart-'));
    await seedEmbeddedDataDir(dataDir);
    const fakes = await startFakes();
    let second: BeamsHerald | undefined;
    try {
      const first = await startBeamsHerald({ config: { dataDir }, delivery: { pageSize: 50, concurrency: 10 } });
      const instance = await createFakeInstance(first.service, fakes);
      const tokens = Array.from({ length: 120 }, () => apnsToken());
      await bulkRegister(await first.db(), instance.id, tokens.map((token) => ({ platform: 'apns' as const, token, interests: ['restart'] })));
      // Hold every APNs response so the job is mid-flight when Herald stops.
      let release!: () => void;
      fakes.apns.gate = new Promise<void>((resolve) => (release = resolve));
      const held = once(fakes.apns, 'request', 10_000);
      const publishId = await first.service.publish(instance, { kind: 'interests', targets: ['restart'], payload: { apns: { aps: { alert: 'again' } } } });
      await held;
      const released = once(first.service.worker, 'job-released', 10_000);
      await first.stop();
      await released;
      release();
      fakes.apns.gate = undefined;
      assert.equal(fakes.apns.received.length, 0, 'nothing was acknowledged before the stop');

      second = await startBeamsHerald({ config: { dataDir }, delivery: { pageSize: 50, concurrency: 10 } });
      const status = await waitForPublish(second.service, instance.id, publishId);
      assert.equal(status.status, 'done');
      assert.equal(status.delivered, 120);
      assert.deepEqual(new Set(fakes.apns.received.map((r) => r.token)), new Set(tokens));
    } finally {
      await second?.stop();
      await withTimeout(fakes.close(), 5000, 'fakes to close');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
