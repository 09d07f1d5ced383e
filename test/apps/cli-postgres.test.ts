/** `herald apps` on PostgreSQL reaches a running Herald through NOTIFY, without a restart. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../helpers/wait.js';
import { cleanupPostgres, clientFor, connected, PG_SKIP_MESSAGE, PG_URL, postgresAvailable, rememberApp, startAppsHerald, unique } from './support.js';
import { appsInProcess, heraldApps } from './cli-support.js';

after(cleanupPostgres);

test('PostgreSQL: `herald apps create` on the database reaches a running Herald without a restart', async (t) => {
  if (!(await postgresAvailable())) return t.skip(PG_SKIP_MESSAGE);
  const h = await startAppsHerald({ backend: 'postgres', reloadIntervalMs: 3_600_000 });
  try {
    const id = unique('pgcli');
    rememberApp(id);
    const created = await heraldApps(['create', '--id', id, '--name', 'PG CLI', '--database-url', PG_URL, '--json']);
    assert.equal(created.code, 0, created.stderr);
    const app = JSON.parse(created.stdout);
    await eventually(() => h.herald.apps.byId(id), 5000, 'the running Herald to hear about the app');
    const client = clientFor(h, app.key);
    try {
      await connected(client);
    } finally {
      client.disconnect();
    }
    const removed = await appsInProcess(['delete', id, '--yes', '--database-url', PG_URL]);
    assert.equal(removed.code, 0, removed.stderr);
    await eventually(() => h.herald.apps.byId(id) === undefined, 5000, 'the running Herald to drop the app');
  } finally {
    await h.stop();
  }
});
