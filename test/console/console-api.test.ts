/**
 * The console API's safety rules, without a browser: the admin token on every route, secrets only
 * in the answer that issues them, webhook header values never sent back, the admin API's
 * validation and errors, the webhook actions (test send, retry now) and the write budget.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { WebhookReceiver } from '../webhooks/receiver.js';

const ADMIN_TOKEN = 'console-api-admin-token-456';
let h: TestHerald;

before(async () => {
  h = await startTestHerald({ config: { adminToken: ADMIN_TOKEN } });
});
after(async () => {
  await h?.stop();
});

async function call(method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN) {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${h.httpUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text || '{}') as any, headers: res.headers };
}

test('looking creates no store: without one the configured apps are listed from memory', async () => {
  const list = await call('GET', '/console/api/apps');
  assert.deepEqual(list.json.apps.map((a: { id: string; source: string }) => [a.id, a.source]), [[h.app.id, 'config']]);
  const one = await call('GET', `/console/api/apps/${h.app.id}`);
  assert.equal(one.json.app.key, h.app.key);
  assert.ok(!one.text.includes(h.app.secret));
  assert.equal(existsSync(join(h.herald.config.dataDir, 'PG_VERSION')), false);
});

test('every console route needs the admin token (401 without or with a wrong one)', async () => {
  const routes: Array<[string, string, unknown?]> = [
    ['GET', '/console/api/apps'],
    ['POST', '/console/api/apps', { name: 'x' }],
    ['GET', `/console/api/apps/${h.app.id}`],
    ['PATCH', `/console/api/apps/${h.app.id}`, { enabled: false }],
    ['DELETE', `/console/api/apps/${h.app.id}`],
    ['POST', `/console/api/apps/${h.app.id}/rotate-secret`, {}],
    ['POST', `/console/api/apps/${h.app.id}/drop-credential`, { key: 'x' }],
    ['GET', `/console/api/apps/${h.app.id}/usage`],
    ['GET', '/console/api/app-schema'],
    ['GET', `/console/api/apps/${h.app.id}/webhooks`],
    ['POST', `/console/api/apps/${h.app.id}/webhooks`, { endpoint: { url: 'http://127.0.0.1:1/' } }],
    ['POST', `/console/api/apps/${h.app.id}/webhooks/update`, { url: 'x', endpoint: {} }],
    ['POST', `/console/api/apps/${h.app.id}/webhooks/remove`, { url: 'x' }],
    ['POST', `/console/api/apps/${h.app.id}/webhooks/test`, { url: 'x' }],
    ['POST', `/console/api/apps/${h.app.id}/webhooks/retry`, { url: 'x' }],
    ['POST', `/console/api/apps/${h.app.id}/events`, { channel: 'c', event: 'e', data: '{}' }],
    ['GET', '/console/api/beams/instances'],
    ['POST', '/console/api/beams/instances', {}],
    ['PATCH', '/console/api/beams/instances/x', {}],
    ['POST', '/console/api/beams/instances/x/rotate-secret', {}],
    ['GET', '/console/api/beams/instances/x/publishes'],
  ];
  for (const [method, path, body] of routes) {
    for (const token of [null, 'wrong-token-wrong-token']) {
      const res = await call(method, path, body, token);
      assert.equal(res.status, 401, `${method} ${path} with ${token ?? 'no token'}: ${res.text}`);
    }
  }
  const enabled = await call('GET', `/console/api/apps/${h.app.id}`);
  assert.equal(enabled.json.app.enabled, true, 'nothing was changed');
});

test('the secret is in the create and rotate answers only, never in reads or updates', async () => {
  const created = await call('POST', '/console/api/apps', { name: 'Secret test' });
  assert.equal(created.status, 201);
  const { appId, key, secret } = created.json.credentials;
  assert.match(secret, /^[0-9a-f]{32}$/);
  assert.ok(!JSON.stringify(created.json.app).includes(secret), 'the app object itself carries no secret');

  const reads = [await call('GET', '/console/api/apps'), await call('GET', `/console/api/apps/${appId}`), await call('PATCH', `/console/api/apps/${appId}`, { name: 'Renamed' })];
  for (const res of reads) {
    assert.equal(res.status, 200, res.text);
    assert.ok(!res.text.includes(secret), `no secret in ${res.text.slice(0, 80)}`);
  }
  assert.equal(reads[1]!.json.app.key, key);

  const rotated = await call('POST', `/console/api/apps/${appId}/rotate-secret`, { keepPrevious: true });
  const newSecret = rotated.json.credentials.secret;
  assert.notEqual(newSecret, secret);
  const after = await call('GET', `/console/api/apps/${appId}`);
  assert.ok(!after.text.includes(secret) && !after.text.includes(newSecret));
  assert.deepEqual(after.json.app.extraKeys, [key], 'the previous pair is listed by its key');
  const dropped = await call('POST', `/console/api/apps/${appId}/drop-credential`, { key });
  assert.deepEqual(dropped.json.app.extraKeys, []);

  const refused = await call('PATCH', `/console/api/apps/${appId}`, { secret: 'a-new-secret-123' });
  assert.equal(refused.status, 400);
  assert.match(refused.json.error, /secret cannot be changed here/);
});

test('the admin API\'s validation and errors: inline-ready messages, read-only configured apps', async () => {
  const created = await call('POST', '/console/api/apps', { name: 'Validation' });
  const id = created.json.credentials.appId;
  const bad = await call('PATCH', `/console/api/apps/${id}`, { limits: { maxPresenceMembers: 0 }, allowedOrigins: ['exa mple.com'] });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.code, 'invalid');
  assert.match(bad.json.error, /limits\.maxPresenceMembers: /);
  assert.match(bad.json.error, /allowedOrigins\.0: "exa mple.com" must be/);
  const unknown = await call('PATCH', `/console/api/apps/${id}`, { clientevents: true });
  assert.match(unknown.json.error, /Unknown app field "clientevents"/);
  const readOnly = await call('PATCH', `/console/api/apps/${h.app.id}`, { enabled: false });
  assert.equal(readOnly.status, 409);
  assert.equal(readOnly.json.code, 'read_only');
  const ok = await call('PATCH', `/console/api/apps/${id}`, { allowedOrigins: ['https://chat.example.com'], limits: { maxPresenceMembers: 5 } });
  assert.deepEqual(ok.json.app.allowedOrigins, ['https://chat.example.com']);
  assert.equal(ok.json.app.limits.maxPresenceMembers, 5);
  assert.equal(ok.json.app.limits.maxPayloadBytes, 10240, 'other limits keep their values (merge patch)');
  const gone = await call('DELETE', `/console/api/apps/${id}`);
  assert.deepEqual(gone.json, { deleted: id });
  assert.equal((await call('GET', `/console/api/apps/${id}`)).status, 404);
});

test('webhook endpoints: header values are write-only; test send and retry now reach the receiver', async () => {
  const created = await call('POST', '/console/api/apps', { name: 'Hooks' });
  const credentials = created.json.credentials;
  const id = credentials.appId;
  const receiver = await WebhookReceiver.start({ id, key: credentials.key, secret: credentials.secret });
  try {
    const add = await call('POST', `/console/api/apps/${id}/webhooks`, { endpoint: { url: receiver.url, events: ['channel_occupied'], headers: { 'X-Token': 'header-secret-value' } } });
    assert.equal(add.status, 201, add.text);
    const list = await call('GET', `/console/api/apps/${id}/webhooks`);
    assert.ok(!list.text.includes('header-secret-value'));
    assert.deepEqual(list.json.endpoints[0], { index: 0, url: receiver.url, events: ['channel_occupied'], channelPrefix: null, headerNames: ['X-Token'], pending: 0, nextAttemptAt: null, attempts: 0, lastError: null });

    // Editing without headers keeps them (the page never has their values).
    await call('POST', `/console/api/apps/${id}/webhooks/update`, { url: receiver.url, endpoint: { url: receiver.url, events: null } });
    const test = await call('POST', `/console/api/apps/${id}/webhooks/test`, { url: receiver.url });
    assert.equal(test.json.delivery.outcome, 'delivered', test.text);
    assert.equal(test.json.delivery.status_code, 200);
    const request = receiver.requests[receiver.requests.length - 1]!;
    assert.equal(request.valid, true, 'signed with the app secret like every webhook');
    assert.equal(request.headers['x-token'], 'header-secret-value');
    assert.deepEqual(request.events.map((e) => e.name), ['herald_test']);
    const log = await call('GET', `/console/api/apps/${id}/webhooks`);
    assert.equal(log.json.deliveries[0].sample[0].name, 'herald_test');
    assert.equal(log.json.endpoints[0].events, null, 'all event types after the edit');

    const unknown = await call('POST', `/console/api/apps/${id}/webhooks/test`, { url: 'http://169.254.169.254/' });
    assert.equal(unknown.status, 404, 'only configured endpoints are ever contacted');
    const retry = await call('POST', `/admin/apps/${id}/webhooks/retry`, { url: receiver.url }, ADMIN_TOKEN);
    assert.deepEqual(retry.json, { retried: 0 });
    const endpoints = await call('GET', `/admin/apps/${id}/webhooks/endpoints`, undefined, ADMIN_TOKEN);
    assert.equal(endpoints.json.endpoints[0].url, receiver.url);

    const removed = await call('POST', `/console/api/apps/${id}/webhooks/remove`, { url: receiver.url });
    assert.equal(removed.status, 200);
    assert.deepEqual((await call('GET', `/console/api/apps/${id}/webhooks`)).json.endpoints, []);
  } finally {
    await receiver.close();
  }
});

test('changes have a budget: past 20 a second the console answers 429 with Retry-After', async () => {
  const statuses: number[] = [];
  let retryAfter: string | null = null;
  for (let i = 0; i < 30; i++) {
    const res = await call('PATCH', `/console/api/apps/${h.app.id}`, { enabled: true });
    statuses.push(res.status);
    if (res.status === 429) retryAfter = res.headers.get('retry-after');
  }
  assert.ok(statuses.includes(429), `some changes were refused: ${statuses.join(',')}`);
  assert.equal(retryAfter, '1');
});
