/**
 * Fan-out: one publish to an interest with 10,000 registered devices of mixed platforms reaches
 * every device exactly once through the provider fakes (web payloads decrypted and compared).
 * Devices are bulk-registered through SQL; a second interest overlaps to check de-duplication.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import PushNotifications from '@pusher/push-notifications-server';
import { apnsToken, bulkRegister, createFakeInstance, startBeamsHerald, startFakes, waitForPublish, type BeamsHerald, type BulkDevice, type Fakes } from './helpers.js';

const TOTAL = 10_000;

describe('Beams fan-out to 10,000 devices', () => {
  let fakes: Fakes;
  let h: BeamsHerald;

  before(async () => {
    fakes = await startFakes();
    h = await startBeamsHerald({ delivery: { pageSize: 1000, concurrency: 100 } });
  });

  after(async () => {
    await h?.stop();
    await fakes?.close();
  });

  test('every device receives the notification once', async () => {
    const instance = await createFakeInstance(h.service, fakes);
    const devices: BulkDevice[] = [];
    const expected = { apns: new Set<string>(), fcm: new Set<string>(), web: new Set<string>() };
    for (let i = 0; i < TOTAL; i++) {
      // Every device is in "everyone"; a third are also in "vip" (overlap must not duplicate).
      const interests = i % 3 === 0 ? ['everyone', 'vip'] : ['everyone'];
      if (i % 3 === 0) {
        const token = apnsToken();
        expected.apns.add(token);
        devices.push({ platform: 'apns', token, interests });
      } else if (i % 3 === 1) {
        const token = `fcm-${i}:APA91b${i.toString(36)}`;
        expected.fcm.add(token);
        devices.push({ platform: 'fcm', token, interests });
      } else {
        const id = `browser-${i}`;
        expected.web.add(id);
        devices.push({ platform: 'web', token: fakes.web.subscribe(id).token, interests });
      }
    }
    await bulkRegister(await h.db(), instance.id, devices);

    const beams = new PushNotifications({ instanceId: instance.id, secretKey: instance.secretKey, endpoint: '127.0.0.1', port: h.th.port } as PushNotifications.Options);
    const web = { notification: { title: 'Big news', body: 'For everyone', icon: 'https://example.com/i.png' }, data: { n: 1 } };
    const started = performance.now();
    const { publishId } = await beams.publishToInterests(['everyone', 'vip'], {
      apns: { aps: { alert: { title: 'Big news', body: 'For everyone' } } },
      fcm: { notification: { title: 'Big news', body: 'For everyone' } },
      web,
    });
    const status = await waitForPublish(h.service, instance.id, publishId, 110_000);
    const seconds = (performance.now() - started) / 1000;
    assert.equal(status.status, 'done');
    assert.equal(status.devices, TOTAL);
    assert.equal(status.delivered, TOTAL);
    assert.deepEqual([fakes.apns.errors, fakes.fcm.errors, fakes.web.errors], [[], [], []]);

    const apnsTokens = fakes.apns.received.map((r) => r.token);
    const fcmTokens = fakes.fcm.received.map((r) => r.token);
    const webIds = fakes.web.received.map((r) => r.id);
    assert.equal(apnsTokens.length, expected.apns.size, 'each APNs device once');
    assert.equal(fcmTokens.length, expected.fcm.size, 'each FCM device once');
    assert.equal(webIds.length, expected.web.size, 'each browser once');
    assert.deepEqual(new Set(apnsTokens), expected.apns);
    assert.deepEqual(new Set(fcmTokens), expected.fcm);
    assert.deepEqual(new Set(webIds), expected.web);
    const pusher = { instanceId: instance.id, publishId, hasDisplayableContent: true, hasData: true };
    for (const delivery of fakes.web.received) {
      assert.deepEqual(delivery.payload, { notification: web.notification, data: { n: 1, pusher } });
    }
    // Informational only (no timing assertions).
    console.log(`# fan-out: ${TOTAL} deliveries in ${seconds.toFixed(2)} s (${Math.round(TOTAL / seconds)}/s)`);
  });
});
