/** A restart keeps stored apps and usage on both backends (usage is flushed on drain). */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Pusher from 'pusher';
import { eventually, nextEvent } from '../helpers/wait.js';
import { admin, clientFor, connected, PG_SKIP_MESSAGE, postgresAvailable, startAppsHerald, tempDataDir, unique, type Backend, cleanupPostgres } from './support.js';

after(cleanupPostgres);

for (const backend of ['embedded', 'postgres'] as Backend[]) {
  test(`${backend} store: apps and usage survive a restart`, async (t) => {
    if (backend === 'postgres' && !(await postgresAvailable())) return t.skip(PG_SKIP_MESSAGE);
    const data = tempDataDir();
    try {
      // A long flush interval: only the flush on drain can have saved the counters.
      const first = await startAppsHerald({ backend, dataDir: data.dir, flushIntervalMs: 3_600_000 });
      let app: { id: string; key: string; secret: string };
      try {
        app = (await admin(first, 'POST', '/admin/apps', { id: unique('restart'), name: 'Survivor', quotas: { dailyMessages: 1000 } })).body;
        const client = clientFor(first, app.key);
        try {
          await connected(client);
          const channel = client.subscribe('updates');
          await nextEvent(channel, 'pusher:subscription_succeeded');
          const received = nextEvent(channel, 'tick');
          await new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(first.port), useTLS: false }).trigger('updates', 'tick', 1);
          await received;
        } finally {
          client.disconnect();
        }
      } finally {
        await first.stop();
      }

      const second = await startAppsHerald({ backend, dataDir: data.dir });
      try {
        const shown = await admin(second, 'GET', `/admin/apps/${app.id}`);
        assert.equal(shown.status, 200);
        assert.equal(shown.body.name, 'Survivor');
        assert.equal(shown.body.secret, app.secret);

        const client = clientFor(second, app.key);
        try {
          await connected(client);
        } finally {
          client.disconnect();
        }

        const usage = (await admin(second, 'GET', `/admin/apps/${app.id}/usage?days=1`)).body;
        assert.equal(usage.days.length, 1);
        const today = usage.days[0];
        assert.equal(today.apiCalls, 1);
        assert.equal(today.messagesSent, 1);
        assert.equal(today.messagesDelivered, 1);
        assert.ok(today.connections >= 1);
        assert.ok(today.peakConnections >= 1);
        const stats = (await admin(second, 'GET', `/admin/apps/${app.id}/stats`)).body;
        assert.ok(stats.quotas.dailyMessages.used >= 2, 'the quota counts usage from before the restart');
      } finally {
        await second.stop();
      }
    } finally {
      data.remove();
    }
  });
}

test('embedded store: usage of configured apps creates the store after the delay and survives a restart', async () => {
  const data = tempDataDir();
  const configured = { id: unique('configured'), key: unique('configured-key'), secret: 'configured-secret' };
  try {
    const first = await startAppsHerald({ backend: 'embedded', dataDir: data.dir, app: configured, flushIntervalMs: 50, createStoreAfterMs: 0 });
    try {
      assert.equal(existsSync(join(data.dir, 'PG_VERSION')), false, 'no store before anything needs one');
      const client = first.pusherClient();
      try {
        await connected(client);
        await eventually(() => existsSync(join(data.dir, 'PG_VERSION')), 15_000, 'a usage flush to create the store');
      } finally {
        client.disconnect();
      }
    } finally {
      await first.stop();
    }
    const second = await startAppsHerald({ backend: 'embedded', dataDir: data.dir, app: configured });
    try {
      const usage = (await admin(second, 'GET', `/admin/apps/${configured.id}/usage?days=1`)).body;
      assert.equal(usage.days[0]?.connections, 1);
    } finally {
      await second.stop();
    }
  } finally {
    data.remove();
  }
});
