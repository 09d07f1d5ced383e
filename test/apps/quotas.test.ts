/** Quotas: daily messages (HTTP publish refused with 403) and connections (4004), also across nodes. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import Pusher from 'pusher';
import type { TestHerald } from '../helpers/herald.js';
import { RawClient } from '../helpers/raw-client.js';
import { eventually, nextEvent } from '../helpers/wait.js';
import { admin, clientFor, connected, PG_SKIP_MESSAGE, postgresAvailable, startAppsHerald, tempDataDir, unique, cleanupPostgres } from './support.js';

after(cleanupPostgres);

function sdk(h: TestHerald, app: { id: string; key: string; secret: string }): Pusher {
  return new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(h.port), useTLS: false });
}

async function publish(h: TestHerald, app: { id: string; key: string; secret: string }): Promise<{ status: number; body: string }> {
  try {
    const res = await sdk(h, app).trigger('room', 'ev', {});
    return { status: res.status, body: await res.text() };
  } catch (err) {
    const e = err as { status: number; body: string };
    return { status: e.status, body: e.body };
  }
}

test('daily message quota: HTTP publishes over it get 403 with a clear body, also after a restart', async () => {
  const data = tempDataDir();
  try {
    let app: { id: string; key: string; secret: string };
    const first = await startAppsHerald({ backend: 'embedded', dataDir: data.dir });
    try {
      // One subscriber: each publish counts 2 messages (1 sent + 1 delivered), Pusher-style.
      app = (await admin(first, 'POST', '/admin/apps', { id: unique('quota'), quotas: { dailyMessages: 3 } })).body;
      const client = clientFor(first, app.key);
      try {
        await connected(client);
        const channel = client.subscribe('room');
        await nextEvent(channel, 'pusher:subscription_succeeded');
        assert.equal((await publish(first, app)).status, 200);
        const refused = await publish(first, app);
        assert.equal(refused.status, 403);
        assert.match(refused.body, /Daily message quota exceeded for app .*: 2 of 3 messages used today \(UTC\)/);
        assert.equal(JSON.parse(refused.body).code, 'daily_message_quota_exceeded');

        const stats = (await admin(first, 'GET', `/admin/apps/${app.id}/stats`)).body;
        assert.deepEqual(stats.quotas.dailyMessages, { limit: 3, used: 2, remaining: 1 });
      } finally {
        client.disconnect();
      }
    } finally {
      await first.stop();
    }
    const second = await startAppsHerald({ backend: 'embedded', dataDir: data.dir });
    try {
      // No subscriber now: a publish needs 1 message, and 2 of 3 are used.
      assert.equal((await publish(second, app)).status, 200);
      assert.equal((await publish(second, app)).status, 403);
      // Raising the quota takes effect at once.
      await admin(second, 'PATCH', `/admin/apps/${app.id}`, { quotas: { dailyMessages: 100 } });
      assert.equal((await publish(second, app)).status, 200);
    } finally {
      await second.stop();
    }
  } finally {
    data.remove();
  }
});

test('connection quota: connections beyond it are closed with 4004', async () => {
  const h = await startAppsHerald({ backend: 'embedded' });
  try {
    const app = (await admin(h, 'POST', '/admin/apps', { id: unique('conns'), quotas: { maxConnections: 1 } })).body;
    const first = clientFor(h, app.key);
    try {
      await connected(first);
      const refused = await RawClient.connect(`${h.wsUrl}/app/${app.key}?protocol=7`);
      const closed = await refused.closed;
      assert.equal(closed.code, 4004);
      assert.match(closed.reason, /over connection quota/);
    } finally {
      first.disconnect();
    }
    // Capacity freed: a new connection is admitted again.
    await eventually(async () => (await admin(h, 'GET', `/admin/apps/${app.id}/stats`)).body.connections.current === 0, 5000, 'the connection to close');
    const again = await RawClient.established(h.wsUrl, app.key);
    again.ws.close();
  } finally {
    await h.stop();
  }
});

test('connection quota across nodes sharing PostgreSQL', async (t) => {
  if (!(await postgresAvailable())) return t.skip(PG_SKIP_MESSAGE);
  const a = await startAppsHerald({ backend: 'postgres', flushIntervalMs: 100 });
  const b = await startAppsHerald({ backend: 'postgres', flushIntervalMs: 100 });
  try {
    const app = (await admin(a, 'POST', '/admin/apps', { id: unique('cluster-quota'), quotas: { maxConnections: 1 } })).body;
    await eventually(() => b.herald.apps.byId(app.id), 5000, 'node B to load the app');
    const onA = clientFor(a, app.key);
    try {
      await connected(onA);
      // Node B learns node A's count at its next flush.
      await eventually(async () => (await admin(b, 'GET', `/admin/apps/${app.id}/stats`)).body.connections.current === 1, 5000, 'node B to see node A\'s connection');
      const refused = await RawClient.connect(`${b.wsUrl}/app/${app.key}?protocol=7`);
      assert.equal((await refused.closed).code, 4004);
    } finally {
      onA.disconnect();
    }
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});
