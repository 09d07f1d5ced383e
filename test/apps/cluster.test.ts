/** Nodes sharing one PostgreSQL see each other's app changes (LISTEN/NOTIFY, periodic reload as safety net). */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { RawClient } from '../helpers/raw-client.js';
import { eventually } from '../helpers/wait.js';
import { admin, clientFor, connected, PG_SKIP_MESSAGE, PG_URL, postgresAvailable, startAppsHerald, unique, cleanupPostgres } from './support.js';

after(cleanupPostgres);

test('an app created, disabled and deleted on one node follows on the other', async (t) => {
  if (!(await postgresAvailable())) return t.skip(PG_SKIP_MESSAGE);
  // The periodic reload is pushed out of the way: only notifications can explain the changes.
  const a = await startAppsHerald({ backend: 'postgres', reloadIntervalMs: 3_600_000 });
  const b = await startAppsHerald({ backend: 'postgres', reloadIntervalMs: 3_600_000 });
  try {
    const app = (await admin(a, 'POST', '/admin/apps', { id: unique('shared') })).body;
    await eventually(() => b.herald.apps.byId(app.id), 5000, 'node B to hear about the new app');
    const client = clientFor(b, app.key);
    try {
      await connected(client);
    } finally {
      client.disconnect();
    }

    const raw = await RawClient.established(b.wsUrl, app.key);
    await admin(a, 'PATCH', `/admin/apps/${app.id}`, { enabled: false });
    assert.equal((await raw.closed).code, 4003);

    await admin(a, 'DELETE', `/admin/apps/${app.id}`);
    await eventually(() => b.herald.apps.byId(app.id) === undefined, 5000, 'node B to drop the deleted app');
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('the periodic reload picks up a change that sent no notification', async (t) => {
  if (!(await postgresAvailable())) return t.skip(PG_SKIP_MESSAGE);
  const h = await startAppsHerald({ backend: 'postgres', reloadIntervalMs: 100 });
  const db = new pg.Client({ connectionString: PG_URL });
  await db.connect();
  try {
    const id = unique('silent');
    const key = unique('silentkey');
    await db.query('INSERT INTO herald_apps (id, config) VALUES ($1, $2::jsonb)', [id, JSON.stringify({ id, key, secret: 'silent-secret-1' })]);
    await db.query('INSERT INTO herald_app_keys (key, app_id) VALUES ($1, $2)', [key, id]);
    const app = await eventually(() => h.herald.apps.byId(id), 5000, 'the reload to load the app');
    assert.ok(app);
    assert.equal(app.key, key);
    assert.equal(app.limits.maxPresenceMembers, 100, 'defaults are filled in');
    await db.query('DELETE FROM herald_apps WHERE id = $1', [id]);
    await eventually(() => h.herald.apps.byId(id) === undefined, 5000, 'the reload to drop the app');
  } finally {
    await db.end();
    await h.stop();
  }
});
