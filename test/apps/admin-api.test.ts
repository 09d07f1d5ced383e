/** Admin API on both backends: apps created, changed, rotated and deleted take effect without a restart. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Pusher from 'pusher';
import type { TestHerald } from '../helpers/herald.js';
import { RawClient } from '../helpers/raw-client.js';
import { nextEvent } from '../helpers/wait.js';
import { admin, clientFor, connected, PG_SKIP_MESSAGE, postgresAvailable, startAppsHerald, unique, type Backend, cleanupPostgres } from './support.js';

after(cleanupPostgres);

function sdk(h: TestHerald, app: { id: string; key: string; secret: string }): Pusher {
  return new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(h.port), useTLS: false });
}

async function triggerStatus(client: Pusher, channel = 'ch'): Promise<number> {
  try {
    return (await client.trigger(channel, 'ev', { ok: true })).status;
  } catch (err) {
    return (err as { status: number }).status;
  }
}

test('admin API: 403 with a clear message when no admin token is configured', async () => {
  const h = await startAppsHerald({ backend: 'embedded', adminToken: null });
  try {
    const res = await admin(h, 'GET', '/admin/apps');
    assert.equal(res.status, 403);
    assert.match(res.body.error, /admin API is disabled: set HERALD_ADMIN_TOKEN/);
  } finally {
    await h.stop();
  }
});

test('admin API: 401 without or with a wrong bearer token', async () => {
  const h = await startAppsHerald({ backend: 'embedded' });
  try {
    assert.equal((await admin(h, 'GET', '/admin/apps', undefined, null)).status, 401);
    const wrong = await admin(h, 'GET', '/admin/apps', undefined, 'not-the-admin-token-123');
    assert.equal(wrong.status, 401);
    assert.match(wrong.body.error, /Bearer/);
  } finally {
    await h.stop();
  }
});

for (const backend of ['embedded', 'postgres'] as Backend[]) {
  describe(`admin API on the ${backend} store`, async () => {
    const skip = backend === 'postgres' && !(await postgresAvailable()) ? PG_SKIP_MESSAGE : false;
    let h: TestHerald;
    before(async () => {
      if (!skip) h = await startAppsHerald({ backend });
    });
    after(async () => {
      if (!skip) await h.stop();
    });

    test('a created app accepts pusher-js connections and SDK publishes at once', { skip }, async () => {
      const created = await admin(h, 'POST', '/admin/apps', { name: 'Chat', id: unique('app'), limits: { maxPresenceMembers: 50 } });
      assert.equal(created.status, 201);
      const app = created.body;
      assert.equal(app.source, 'store');
      assert.equal(app.limits.maxPresenceMembers, 50);
      assert.match(app.key, /^[0-9a-f]{20}$/);
      assert.ok(app.secret.length >= 32);

      const client = clientFor(h, app.key);
      try {
        await connected(client);
        const channel = client.subscribe('news');
        await nextEvent(channel, 'pusher:subscription_succeeded');
        const received = nextEvent<{ n: number }>(channel, 'update');
        await sdk(h, app).trigger('news', 'update', { n: 7 });
        assert.deepEqual(await received, { n: 7 });
      } finally {
        client.disconnect();
      }

      const list = await admin(h, 'GET', '/admin/apps');
      const listed = list.body.apps.find((a: { id: string }) => a.id === app.id);
      assert.equal(listed.secret, undefined, 'list never shows secrets');
      assert.ok(list.body.apps.some((a: { id: string; source: string }) => a.id === h.app.id && a.source === 'config'));
      assert.equal((await admin(h, 'GET', `/admin/apps/${app.id}`)).body.secret, app.secret);
    });

    test('disabling an app closes its connections (4003); deleting refuses new ones (4001)', { skip }, async () => {
      const app = (await admin(h, 'POST', '/admin/apps', { id: unique('app') })).body;
      const raw = await RawClient.established(h.wsUrl, app.key);
      const patched = await admin(h, 'PATCH', `/admin/apps/${app.id}`, { enabled: false });
      assert.equal(patched.status, 200);
      assert.equal((await raw.closed).code, 4003);
      assert.equal(await triggerStatus(sdk(h, app)), 403);

      assert.equal((await admin(h, 'PATCH', `/admin/apps/${app.id}`, { enabled: true })).status, 200);
      await (await RawClient.established(h.wsUrl, app.key)).ws.close();

      const deleted = await admin(h, 'DELETE', `/admin/apps/${app.id}`);
      assert.deepEqual(deleted.body, { deleted: app.id });
      const refused = await RawClient.connect(`${h.wsUrl}/app/${app.key}?protocol=7`);
      assert.equal((await refused.closed).code, 4001);
      assert.equal((await admin(h, 'GET', `/admin/apps/${app.id}`)).status, 404);
    });

    test('rotate-secret keeps the previous secret working until it is dropped', { skip }, async () => {
      const app = (await admin(h, 'POST', '/admin/apps', { id: unique('app') })).body;
      const rotated = (await admin(h, 'POST', `/admin/apps/${app.id}/rotate-secret`)).body;
      assert.notEqual(rotated.secret, app.secret);
      assert.equal(rotated.key, app.key);
      assert.equal(await triggerStatus(sdk(h, app)), 200, 'old secret still accepted');
      assert.equal(await triggerStatus(sdk(h, rotated)), 200, 'new secret accepted');

      const again = await admin(h, 'POST', `/admin/apps/${app.id}/rotate-secret`, { keepPrevious: false, newKey: true });
      assert.notEqual(again.body.key, app.key);
      assert.deepEqual(again.body.extraCredentials, []);
      assert.equal(await triggerStatus(sdk(h, rotated)), 401, 'dropped secret refused');
      assert.equal(await triggerStatus(sdk(h, again.body)), 200);
    });

    test('bad input and conflicts get clear 400/409 errors; config apps are read-only', { skip }, async () => {
      const unknownField = await admin(h, 'POST', '/admin/apps', { clientevents: false });
      assert.equal(unknownField.status, 400);
      assert.match(unknownField.body.error, /Unknown app field "clientevents"/);
      const badSecret = await admin(h, 'POST', '/admin/apps', { secret: 'short' });
      assert.equal(badSecret.status, 400);
      assert.match(badSecret.body.error, /secret/);
      const badJson = await fetch(`${h.httpUrl}/admin/apps`, { method: 'POST', headers: { Authorization: `Bearer ${'test-admin-token-0123456789'}` }, body: '{' });
      assert.equal(badJson.status, 400);

      const first = (await admin(h, 'POST', '/admin/apps', { id: unique('app') })).body;
      const sameKey = await admin(h, 'POST', '/admin/apps', { key: first.key });
      assert.equal(sameKey.status, 409);
      assert.match(sameKey.body.error, /already used/);
      const configKey = await admin(h, 'POST', '/admin/apps', { key: h.app.key });
      assert.equal(configKey.status, 409);

      const readOnly = await admin(h, 'PATCH', `/admin/apps/${h.app.id}`, { name: 'x' });
      assert.equal(readOnly.status, 409);
      assert.match(readOnly.body.error, /defined in configuration/);
      assert.equal((await admin(h, 'PATCH', `/admin/apps/${first.id}`, { id: 'other' })).status, 400);
      assert.equal((await admin(h, 'GET', `/admin/apps/${first.id}/usage?days=0`)).status, 400);
    });

    test('stats and usage count API calls, messages sent and delivered', { skip }, async () => {
      const app = (await admin(h, 'POST', '/admin/apps', { id: unique('app') })).body;
      const a = clientFor(h, app.key);
      const b = clientFor(h, app.key);
      try {
        await Promise.all([connected(a), connected(b)]);
        const channels = [a.subscribe('room'), b.subscribe('room')];
        await Promise.all(channels.map((c) => nextEvent(c, 'pusher:subscription_succeeded')));
        const got = channels.map((c) => nextEvent(c, 'ping'));
        await sdk(h, app).trigger('room', 'ping', {});
        await Promise.all(got);

        const stats = (await admin(h, 'GET', `/admin/apps/${app.id}/stats`)).body;
        assert.equal(stats.connections.current, 2);
        assert.equal(stats.connections.peakToday, 2);
        assert.equal(stats.today.apiCalls, 1);
        assert.equal(stats.today.messagesSent, 1);
        assert.equal(stats.today.messagesDelivered, 2);
        assert.equal(stats.today.messages, 3);
        assert.equal(stats.today.connections, 2);
        assert.equal(stats.quotas.dailyMessages.remaining, null);

        const usage = (await admin(h, 'GET', `/admin/apps/${app.id}/usage?days=7`)).body;
        assert.equal(usage.days.length, 1);
        assert.equal(usage.totals.messages, 3);
      } finally {
        a.disconnect();
        b.disconnect();
      }
    });
  });
}
