/**
 * Beams over GraphQL: devices and interests, users and tokens, notifications delivered to the fake
 * APNs / FCM / Web Push gateways, credentials and scoping, and NOT_AVAILABLE without the services.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyUserToken } from '../../src/beams/jwt.js';
import type { BeamsInstance } from '../../src/beams/instances.js';
import { BEAMS_SERVICE, type BeamsService } from '../../src/beams/service.js';
import { graphqlModule } from '../../src/graphql/module.js';
import { storageModule } from '../../src/app-store/database-module.js';
import { apnsToken, createFakeInstance, startFakes, waitForPublish, type Fakes } from '../beams/helpers.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { once } from '../helpers/wait.js';
import { ADMIN, ADMIN_TOKEN, basic, codeOf, gql, gqlData, startGraphqlHerald } from './support.js';

const DEVICE_FIELDS = 'id instanceId platform userId info { sdkVersion osVersion bundleIdentifier metadata } interests { interests { name deviceId } nextCursor }';

let h: TestHerald;
let fakes: Fakes;
let instance: BeamsInstance;
let other: BeamsInstance;
let beamsAuth: string;

before(async () => {
  fakes = await startFakes();
  h = await startGraphqlHerald();
  const service = h.herald.services.get(BEAMS_SERVICE) as BeamsService;
  other = await service.instances.create({ id: `graphql-other-${process.pid}` });
  // Created last: the fake Web Push service checks this instance's VAPID key.
  instance = await createFakeInstance(service, fakes);
  beamsAuth = basic(instance.id, instance.secretKey);
});
after(async () => {
  await h?.stop();
  await fakes?.close();
});

const register = (input: Record<string, unknown>, auth = beamsAuth) =>
  gql(h, `mutation($input: RegisterDeviceInput!) { registerDevice(input: $input) { ${DEVICE_FIELDS} } }`, { input }, auth);

test('credentials: the instance id + secret key, or the admin token with instanceId; apps are refused', async () => {
  const query = `query($i: ID) { beamsUser(instanceId: $i, userId: "nobody") { id instanceId deviceCount } }`;
  assert.deepEqual((await gqlData(h, query, {}, beamsAuth)).beamsUser, { id: 'nobody', instanceId: instance.id, deviceCount: 0 });
  assert.equal((await gqlData(h, query, { i: other.id }, ADMIN)).beamsUser.instanceId, other.id);

  assert.equal(codeOf(await gql(h, query, { i: other.id }, beamsAuth)), 'FORBIDDEN');
  assert.equal(codeOf(await gql(h, query, {})), 'FORBIDDEN', 'Channels app credentials are not Beams credentials');
  assert.equal(codeOf(await gql(h, query, {}, ADMIN)), 'BAD_USER_INPUT');
  assert.equal(codeOf(await gql(h, query, { i: 'no-such-instance' }, ADMIN)), 'NOT_FOUND');
  const wrong = await gql(h, query, {}, basic(instance.id, 'not-the-secret-key'));
  assert.equal(wrong.status, 401);
  assert.equal(codeOf(wrong), 'UNAUTHENTICATED');
  // A Beams instance cannot reach Channels data.
  assert.equal(codeOf(await gql(h, '{ app { id } }', undefined, beamsAuth)), 'FORBIDDEN');
});

test('devices: register on every platform, read, paginate and change interests, delete', async () => {
  const android = await register({ platform: 'ANDROID', token: 'fcm-token-1', metadata: { sdkVersion: '2.0.0', androidVersion: '14' }, interests: ['donuts', 'coffee'] });
  assert.equal(android.body.errors, undefined, JSON.stringify(android.body.errors));
  const device = android.body.data.registerDevice;
  assert.match(device.id, /^fcm-/);
  assert.equal(device.platform, 'ANDROID');
  assert.equal(device.instanceId, instance.id);
  assert.deepEqual(device.info, { sdkVersion: '2.0.0', osVersion: '14', bundleIdentifier: null, metadata: { sdkVersion: '2.0.0', androidVersion: '14' } });
  assert.deepEqual(device.interests.interests.map((i: { name: string }) => i.name), ['coffee', 'donuts']);

  const ios = await register({ platform: 'IOS', token: apnsToken(), bundleIdentifier: 'com.example.app', metadata: { iosVersion: '17.1' } });
  assert.equal(ios.body.data.registerDevice.info.bundleIdentifier, 'com.example.app');
  assert.equal(ios.body.data.registerDevice.info.osVersion, '17.1');
  const web = await register({ platform: 'WEB', token: fakes.web.subscribe('graphql-browser').token });
  assert.match(web.body.data.registerDevice.id, /^web-/);

  assert.equal(codeOf(await register({ platform: 'IOS', token: apnsToken() })), 'BAD_USER_INPUT', 'iOS needs a bundle identifier');
  assert.equal(codeOf(await register({ platform: 'WEB', token: 'bm90IGpzb24=' })), 'BAD_USER_INPUT');
  // A malformed native token is the caller's input (the Device API's 401 is not a credentials problem here).
  for (const input of [{ platform: 'IOS', token: 'not-hex', bundleIdentifier: 'com.example.app' }, { platform: 'ANDROID', token: 'has space' }]) {
    const refused = await register(input);
    assert.equal(refused.status, 200);
    assert.equal(codeOf(refused), 'BAD_USER_INPUT', JSON.stringify(refused.body.errors));
    assert.equal(refused.body.errors![0]!.extensions!.field, 'token');
  }
  assert.equal(codeOf(await register({ platform: 'ANDROID', token: 'x', interests: ['bad interest!'] })), 'BAD_USER_INPUT');
  // Same token again: same device, interests kept.
  assert.equal((await register({ platform: 'ANDROID', token: 'fcm-token-1' })).body.data.registerDevice.id, device.id);

  const args = { p: 'ANDROID', d: device.id };
  const page1 = (await gqlData(h, `query($p: DevicePlatform!, $d: ID!) { deviceInterests(platform: $p, deviceId: $d, first: 1) { interests { name } nextCursor } }`, args, beamsAuth)).deviceInterests;
  assert.deepEqual(page1.interests, [{ name: 'coffee' }]);
  assert.ok(page1.nextCursor);
  const page2 = (await gqlData(h, `query($p: DevicePlatform!, $d: ID!, $a: String) { deviceInterests(platform: $p, deviceId: $d, first: 1, after: $a) { interests { name } nextCursor } }`, { ...args, a: page1.nextCursor }, beamsAuth)).deviceInterests;
  assert.deepEqual(page2, { interests: [{ name: 'donuts' }], nextCursor: null });

  const names = (d: { interests: { interests: Array<{ name: string }> } }) => d.interests.interests.map((i) => i.name);
  const added = (await gqlData(h, `mutation($p: DevicePlatform!, $d: ID!) { addDeviceInterest(platform: $p, deviceId: $d, interest: "tea") { ${DEVICE_FIELDS} } }`, args, beamsAuth)).addDeviceInterest;
  assert.deepEqual(names(added), ['coffee', 'donuts', 'tea']);
  const removed = (await gqlData(h, `mutation($p: DevicePlatform!, $d: ID!) { removeDeviceInterest(platform: $p, deviceId: $d, interest: "coffee") { ${DEVICE_FIELDS} } }`, args, beamsAuth)).removeDeviceInterest;
  assert.deepEqual(names(removed), ['donuts', 'tea']);
  const replaced = (await gqlData(h, `mutation($p: DevicePlatform!, $d: ID!) { setDeviceInterests(platform: $p, deviceId: $d, interests: ["a", "b", "a"]) { ${DEVICE_FIELDS} } }`, args, beamsAuth)).setDeviceInterests;
  assert.deepEqual(names(replaced), ['a', 'b']);
  const badInterest = await gql(h, `mutation($p: DevicePlatform!, $d: ID!) { addDeviceInterest(platform: $p, deviceId: $d, interest: "no spaces") { id } }`, args, beamsAuth);
  assert.equal(codeOf(badInterest), 'BAD_USER_INPUT');

  const read = (await gqlData(h, `query($p: DevicePlatform!, $d: ID!) { device(platform: $p, deviceId: $d) { id userId } }`, args, beamsAuth)).device;
  assert.deepEqual(read, { id: device.id, userId: null });
  const wrongPlatform = await gql(h, `query($d: ID!) { device(platform: IOS, deviceId: $d) { id } }`, { d: device.id }, beamsAuth);
  assert.equal(codeOf(wrongPlatform), 'NOT_FOUND');

  const deleted = (await gqlData(h, `mutation($p: DevicePlatform!, $d: ID!) { deleteDevice(platform: $p, deviceId: $d) { ok message affected errors { code } } }`, args, beamsAuth)).deleteDevice;
  assert.deepEqual(deleted, { ok: true, message: 'Device deleted', affected: 1, errors: [] });
  assert.equal((await gqlData(h, `mutation($p: DevicePlatform!, $d: ID!) { deleteDevice(platform: $p, deviceId: $d) { affected } }`, args, beamsAuth)).deleteDevice.affected, 0);
  assert.equal(codeOf(await gql(h, `query($p: DevicePlatform!, $d: ID!) { device(platform: $p, deviceId: $d) { id } }`, args, beamsAuth)), 'NOT_FOUND');
  assert.equal(codeOf(await gql(h, `mutation($p: DevicePlatform!, $d: ID!) { addDeviceInterest(platform: $p, deviceId: $d, interest: "x") { id } }`, args, beamsAuth)), 'NOT_FOUND');
});

test('users: generateBeamsToken is accepted by the Device API, beamsUser lists devices, deleteBeamsUser removes them', async () => {
  const issued = (await gqlData(h, `mutation { generateBeamsToken(userId: "user-7") { token userId instanceId issuedAt expiresAt } }`, undefined, beamsAuth)).generateBeamsToken;
  assert.equal(issued.userId, 'user-7');
  assert.equal(Date.parse(issued.expiresAt) - Date.parse(issued.issuedAt), 24 * 3600 * 1000);
  assert.equal(await verifyUserToken(issued.token, instance.id, instance.secretKey), 'user-7');
  assert.equal(codeOf(await gql(h, `mutation { generateBeamsToken(userId: "") { token } }`, undefined, beamsAuth)), 'BAD_USER_INPUT');

  const device = (await register({ platform: 'ANDROID', token: 'fcm-user-7' })).body.data.registerDevice;
  // The device SDK associates the device with the user through the Device API, using the token.
  const bind = await fetch(`${h.httpUrl}/device_api/v1/instances/${instance.id}/devices/fcm/${device.id}/user`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${issued.token}` },
  });
  assert.equal(bind.status, 200);

  const user = (await gqlData(h, `{ beamsUser(userId: "user-7") { id deviceCount devices { id platform userId info { metadata } } } }`, undefined, beamsAuth)).beamsUser;
  assert.deepEqual(user, { id: 'user-7', deviceCount: 1, devices: [{ id: device.id, platform: 'ANDROID', userId: 'user-7', info: { metadata: {} } }] });

  const removed = (await gqlData(h, `mutation { deleteBeamsUser(userId: "user-7") { ok affected } }`, undefined, beamsAuth)).deleteBeamsUser;
  assert.deepEqual(removed, { ok: true, affected: 1 });
  assert.equal((await gqlData(h, `{ beamsUser(userId: "user-7") { deviceCount } }`, undefined, beamsAuth)).beamsUser.deviceCount, 0);
});

test('sendBeamsNotification is queued and delivered to APNs, FCM and Web Push with the priority mapped', async () => {
  const iosToken = apnsToken();
  const browser = fakes.web.subscribe('notify-browser');
  await register({ platform: 'IOS', token: iosToken, bundleIdentifier: 'com.example.app', interests: ['launch'] });
  await register({ platform: 'ANDROID', token: 'fcm-launch', interests: ['launch'] });
  await register({ platform: 'WEB', token: browser.token, interests: ['launch'] });

  const deliveries = Promise.all([once(fakes.apns, 'delivery', 30_000), once(fakes.fcm, 'delivery', 30_000), once(fakes.web, 'delivery', 30_000)]);
  const sent = (
    await gqlData(
      h,
      `mutation($input: BeamsNotificationInput!) { sendBeamsNotification(input: $input) {
        publishId instanceId interests users priority webhookUrl status
        payload { raw web { title body deepLink data } android { title priority data } ios { title body badge priority data } } } }`,
      {
        input: {
          interests: ['launch'],
          priority: 'HIGH',
          payload: {
            ios: { title: 'Liftoff', body: 'We have liftoff', badge: 1, data: { mission: 'x' } },
            android: { title: 'Liftoff', body: 'We have liftoff', data: { mission: 'x' } },
            web: { title: 'Liftoff', body: 'We have liftoff', deepLink: 'https://example.com/launch', data: { mission: 'x' } },
          },
        },
      },
      beamsAuth,
    )
  ).sendBeamsNotification;
  assert.match(sent.publishId, /^pubid-/);
  assert.deepEqual(sent.interests, ['launch']);
  assert.equal(sent.users, null);
  assert.equal(sent.priority, 'HIGH');
  assert.deepEqual(sent.payload.ios, { title: 'Liftoff', body: 'We have liftoff', badge: 1, priority: 'HIGH', data: { mission: 'x' } });
  assert.deepEqual(sent.payload.android, { title: 'Liftoff', priority: 'HIGH', data: { mission: 'x' } });
  assert.equal(sent.payload.web.deepLink, 'https://example.com/launch');
  assert.equal(sent.payload.raw.fcm.priority, 'high');
  assert.equal(sent.payload.raw.apns.priority, 10);
  assert.ok(['queued', 'processing', 'done'].includes(sent.status));

  await deliveries;
  const apns = fakes.apns.received.find((d) => d.token === iosToken)!;
  assert.equal(apns.headers['apns-priority'], '10');
  assert.deepEqual(apns.body.aps.alert, { title: 'Liftoff', body: 'We have liftoff' });
  const fcm = fakes.fcm.received.find((d) => d.token === 'fcm-launch')!;
  assert.equal(fcm.message.notification.title, 'Liftoff');
  const webPush = fakes.web.received.find((d) => d.id === 'notify-browser')!;
  assert.equal(webPush.payload.notification.deep_link, 'https://example.com/launch');
  const status = await waitForPublish(h.herald.services.get(BEAMS_SERVICE) as BeamsService, instance.id, sent.publishId);
  assert.equal(status.status, 'done');
  const later = (await gqlData(h, `mutation { sendBeamsNotification(input: {users: ["someone"], payload: {android: {title: "t"}}}) { users status } }`, undefined, beamsAuth)).sendBeamsNotification;
  assert.deepEqual(later.users, ['someone']);

  const send = (input: unknown) => gql(h, `mutation($input: BeamsNotificationInput!) { sendBeamsNotification(input: $input) { publishId } }`, { input }, beamsAuth);
  assert.equal(codeOf(await send({ interests: ['a'], users: ['b'], payload: { web: { title: 't' } } })), 'BAD_USER_INPUT');
  assert.equal(codeOf(await send({ payload: { web: { title: 't' } } })), 'BAD_USER_INPUT');
  assert.equal(codeOf(await send({ interests: ['a'], payload: {} })), 'BAD_USER_INPUT');
  const badInterest = await send({ interests: ['not valid!'], payload: { web: { title: 't' } } });
  assert.equal(codeOf(badInterest), 'BAD_USER_INPUT');
  assert.match(badInterest.body.errors![0]!.message, /is not valid/);
  const reserved = await send({ interests: ['a'], payload: { web: { data: { pusher: 1 } } } });
  assert.match(reserved.body.errors![0]!.message, /cannot contain the key 'pusher'/);
});

test('without the Beams or apps services: NOT_AVAILABLE', async () => {
  const bare = await startTestHerald({ modules: () => [storageModule(), graphqlModule()], config: { adminToken: ADMIN_TOKEN } });
  try {
    const beams = await gql(bare, `{ beamsUser(instanceId: "x", userId: "u") { id } }`, undefined, ADMIN);
    assert.equal(codeOf(beams), 'NOT_AVAILABLE');
    const stats = await gql(bare, `{ appStats { connections } }`);
    assert.equal(codeOf(stats), 'NOT_AVAILABLE');
    assert.equal((await gqlData(bare, `{ cluster { beamsAvailable } }`)).cluster.beamsAvailable, false);
  } finally {
    await bare.stop();
  }
});
