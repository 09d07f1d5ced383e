/**
 * The stock @pusher/push-notifications-server SDK against Herald (spec F.1–F.3): publish to
 * interests and users, generateToken → device/user association, deleteUser, and error formats.
 * Deliveries are checked at the provider fakes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import PushNotifications from '@pusher/push-notifications-server';
import { apnsToken, beamsApi, createFakeInstance, startBeamsHerald, startFakes, waitForPublish, type BeamsHerald, type Fakes } from './helpers.js';
import type { BeamsInstance } from '../../src/beams/instances.js';

describe('Beams server SDK (@pusher/push-notifications-server 1.2.7)', () => {
  let fakes: Fakes;
  let h: BeamsHerald;
  let instance: BeamsInstance;
  let beams: PushNotifications;
  const devices: Record<string, string> = {};
  let webToken = '';

  const api = beamsApi(() => h.th.httpUrl);

  before(async () => {
    fakes = await startFakes();
    h = await startBeamsHerald();
    instance = await createFakeInstance(h.service, fakes);
    // Spec F.3: `endpoint` is a bare host (plain HTTP) and the undocumented `port` picks the port.
    beams = new PushNotifications({ instanceId: instance.id, secretKey: instance.secretKey, endpoint: '127.0.0.1', port: h.th.port } as PushNotifications.Options);
    const base = `/device_api/v1/instances/${instance.id}/devices`;
    const sub = fakes.web.subscribe('browser-1');
    webToken = sub.token;
    devices.web = (await api('POST', `${base}/web`, { token: sub.token, metadata: { sdkVersion: '2.1.0' } })).body.id;
    devices.apns = (await api('POST', `${base}/apns`, { token: apnsToken(), bundleIdentifier: fakes.apnsCredentials.topic, metadata: { sdkVersion: '4.0.0' } })).body.id;
    devices.fcm = (await api('POST', `${base}/fcm`, { token: 'fcm-token-1:APA91b-abc', metadata: { sdkVersion: '1.9.0' } })).body.id;
    for (const [platform, id] of Object.entries(devices)) {
      assert.match(id, new RegExp(`^${platform}-`));
      assert.equal((await api('POST', `${base}/${platform}/${id}/interests/donuts`)).status, 200);
    }
  });

  after(async () => {
    await h?.stop();
    await fakes?.close();
  });

  test('publishToInterests delivers to APNs, FCM and Web Push with the pusher data object', async () => {
    const response = await beams.publishToInterests(['donuts', 'hello'], {
      apns: { aps: { alert: { title: 'Hi', body: 'Donuts!' } }, data: { flavour: 'glazed' } },
      fcm: { notification: { title: 'Hi', body: 'Donuts!', android_channel_id: 'treats' }, data: { flavour: 'glazed', count: 3 } },
      web: { notification: { title: 'Hi', body: 'Donuts!', deep_link: 'https://example.com/donuts' }, data: { flavour: 'glazed' }, time_to_live: 3600 },
    } as PushNotifications.PublishRequest);
    assert.match(response.publishId, /^pubid-[0-9a-f-]{36}$/);
    const status = await waitForPublish(h.service, instance.id, response.publishId);
    assert.equal(status.status, 'done');
    assert.equal(status.delivered, 3);
    assert.deepEqual([fakes.apns.errors, fakes.fcm.errors, fakes.web.errors], [[], [], []]);

    const apns = fakes.apns.received.at(-1)!;
    assert.deepEqual(apns.body.aps, { alert: { title: 'Hi', body: 'Donuts!' } });
    assert.equal(apns.body.data.flavour, 'glazed');
    assert.equal(apns.body.data.pusher.publishId, response.publishId);
    assert.equal(apns.headers['apns-push-type'], 'alert');
    assert.equal(apns.headers['apns-topic'], fakes.apnsCredentials.topic);

    const fcm = fakes.fcm.received.at(-1)!;
    assert.equal(fcm.token, 'fcm-token-1:APA91b-abc');
    assert.deepEqual(fcm.message.notification, { title: 'Hi', body: 'Donuts!' });
    assert.equal(fcm.message.android.notification.channel_id, 'treats');
    assert.equal(fcm.message.data.count, '3');
    assert.equal(JSON.parse(fcm.message.data.pusher).publishId, response.publishId);

    const web = fakes.web.received.at(-1)!;
    assert.equal(web.ttl, 3600);
    assert.deepEqual(web.payload, {
      notification: { title: 'Hi', body: 'Donuts!', deep_link: 'https://example.com/donuts' },
      data: { flavour: 'glazed', pusher: { instanceId: instance.id, publishId: response.publishId, hasDisplayableContent: true, hasData: true } },
    });
  });

  test('generateToken → PUT /user associates the device; publishToUsers reaches it; deleteUser removes it', async () => {
    const userId = 'ron weasley@x';
    const { token } = beams.generateToken(userId);
    const userPath = `/device_api/v1/instances/${instance.id}/devices/web/${devices.web}/user`;
    assert.equal((await api('PUT', userPath, undefined, { Authorization: `Bearer ${token}` })).status, 200);
    assert.equal((await api('PUT', userPath, undefined, { Authorization: `Bearer ${token}` })).status, 200, 'same user again is fine');
    const other = beams.generateToken('someone-else').token;
    const conflict = await api('PUT', userPath, undefined, { Authorization: `Bearer ${other}` });
    assert.equal(conflict.status, 400);
    assert.equal(conflict.body.description, 'A User Id is already associated with this device');

    const before = fakes.web.received.length;
    const { publishId } = await beams.publishToUsers([userId, 'nobody'], { web: { notification: { title: 'For Ron' } } });
    const status = await waitForPublish(h.service, instance.id, publishId);
    assert.equal(status.delivered, 1);
    assert.equal(fakes.web.received.length, before + 1);
    assert.equal(fakes.web.received.at(-1)!.payload.notification.title, 'For Ron');

    assert.equal(await beams.deleteUser(userId), undefined);
    const gone = await api('GET', `/device_api/v1/instances/${instance.id}/devices/web/${devices.web}`);
    assert.equal(gone.status, 404);
    assert.deepEqual(gone.body, { error: 'Device not found', description: 'Could not find the device' });
    // The same browser registers again (as the web SDK does after stop/start).
    const again = await api('POST', `/device_api/v1/instances/${instance.id}/devices/web`, { token: webToken, metadata: { sdkVersion: '2.1.0' } });
    assert.notEqual(again.body.id, devices.web, 'a deleted device comes back with a new id');
    devices.web = again.body.id;
    assert.equal((await api('POST', `/device_api/v1/instances/${instance.id}/devices/web/${devices.web}/interests/donuts`)).status, 200);
  });

  test('customer_api path deletes users too', async () => {
    const res = await api('DELETE', `/customer_api/v1/instances/${instance.id}/users/${encodeURIComponent('no such user')}`, undefined, {
      Authorization: `Bearer ${instance.secretKey}`,
    });
    assert.equal(res.status, 200);
  });

  test('errors reach the SDK as "<status> <error> - <description>"', async () => {
    const wrongKey = new PushNotifications({ instanceId: instance.id, secretKey: 'not-the-key', endpoint: '127.0.0.1', port: h.th.port } as PushNotifications.Options);
    await assert.rejects(wrongKey.publishToInterests(['donuts'], { web: { notification: { title: 'x' } } }), { message: '401 Unauthorized - Incorrect API Key' });
    const unknown = new PushNotifications({ instanceId: 'no-such-instance', secretKey: 'whatever', endpoint: '127.0.0.1', port: h.th.port } as PushNotifications.Options);
    await assert.rejects(unknown.deleteUser('u1'), { message: '404 Instance not found - Could not find the instance' });
    await assert.rejects(beams.publishToInterests(['donuts'], {} as PushNotifications.PublishRequest), /^Error: 422 Unprocessable Entity - Publish requests must contain at least one of apns, fcm or web$/);
    await assert.rejects(beams.publishToUsers(['u'], { web: { data: { pusher: 1 } } }), /422 Unprocessable Entity - 'web.data' cannot contain the key 'pusher'/);
  });

  test('raw publish validation: interest names, counts, body size, content type, missing auth', async () => {
    const path = `/publish_api/v1/instances/${instance.id}/publishes/interests`;
    const auth = { Authorization: `Bearer ${instance.secretKey}` };
    const bad = await api('POST', path, { interests: ['no spaces'], web: {} }, auth);
    assert.equal(bad.status, 422);
    assert.match(bad.body.description, /not valid/);
    assert.equal((await api('POST', path, { interests: Array.from({ length: 101 }, (_, i) => `i${i}`), web: {} }, auth)).status, 422);
    assert.equal((await api('POST', path, { interests: [], web: {} }, auth)).status, 422);
    const big = await api('POST', path, { interests: ['a'], web: { data: { x: 'y'.repeat(11 * 1024) } } }, auth);
    assert.deepEqual(big, { status: 400, body: { error: 'Bad request', description: 'Request body size is too large (max 10KiB)' } });
    const noAuth = await api('POST', path, { interests: ['a'], web: {} });
    assert.deepEqual(noAuth.body, { error: 'Incomplete Request', description: 'Authorization header is missing' });
    const text = await fetch(`${h.th.httpUrl}${path}`, { method: 'POST', headers: { ...auth, 'Content-Type': 'text/plain' }, body: '{}' });
    assert.equal(text.status, 400);
    assert.equal((await text.json()).error, 'Invalid content type');
    const notFound = await api('GET', `/publish_api/v1/instances/${instance.id}/nothing-here`);
    assert.equal(notFound.status, 404);
    assert.ok(notFound.body.error && notFound.body.description);
    // Spec F.1: a missing instance id is a 400, not an unknown path.
    const missingId = { status: 400, body: { error: 'Incomplete Request', description: '`instance-id` param is missing from path' } };
    assert.deepEqual(await api('POST', '/publish_api/v1/instances//publishes/interests', { interests: ['a'], web: {} }, auth), missingId);
    assert.deepEqual(await api('DELETE', '/user_api/v1/instances//users/u1', undefined, auth), missingId);
  });

  test('publish status is kept for lookup', async () => {
    const { publishId } = await beams.publishToInterests(['donuts'], { web: { notification: { title: 'status' } } });
    await waitForPublish(h.service, instance.id, publishId);
    const res = await api('GET', `/publish_api/v1/instances/${instance.id}/publishes/${publishId}`, undefined, { Authorization: `Bearer ${instance.secretKey}` });
    assert.equal(res.status, 200);
    assert.equal(res.body.publishId, publishId);
    assert.equal(res.body.status, 'done');
    assert.deepEqual(res.body.interests, ['donuts']);
    assert.equal(res.body.delivered, 1);
    const missing = await api('GET', `/publish_api/v1/instances/${instance.id}/publishes/pubid-nope`, undefined, { Authorization: `Bearer ${instance.secretKey}` });
    assert.equal(missing.status, 404);
  });
});
