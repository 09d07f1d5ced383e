/** `herald apps` while a Herald holds the embedded store: it goes through the admin API, or says how to. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admin, ADMIN_TOKEN, clientFor, connected, startAppsHerald, tempDataDir, unique } from './support.js';
import { appsInProcess, heraldApps } from './cli-support.js';

test('embedded store in use: the CLI goes through the running server, or says how to', async () => {
  const data = tempDataDir();
  const h = await startAppsHerald({ backend: 'embedded', dataDir: data.dir });
  try {
    // The first admin call creates (and locks) the server's embedded store.
    assert.equal((await admin(h, 'GET', '/admin/apps')).status, 200);
    const refused = await appsInProcess(['create', '--data-dir', data.dir]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /in use by a running Herald/);
    assert.match(refused.stderr, new RegExp(`--url ${h.httpUrl.replace(/[.:/]/g, '\\$&')} --admin-token`));

    // The real binary, with the admin token: it finds the server's URL in the lock and uses its admin API.
    const viaLock = await heraldApps(['create', '--name', 'From CLI', '--data-dir', data.dir, '--json'], { HERALD_ADMIN_TOKEN: ADMIN_TOKEN });
    assert.equal(viaLock.code, 0, viaLock.stderr);
    assert.match(viaLock.stderr, /sending the command to its admin API/);
    const app = JSON.parse(viaLock.stdout);
    assert.equal(app.name, 'From CLI');
    const client = clientFor(h, app.key);
    try {
      await connected(client);
    } finally {
      client.disconnect();
    }

    // Explicit --url / --admin-token, then every other command.
    const viaUrl = await appsInProcess(['create', '--id', unique('cli'), '--daily-messages', '10', '--url', h.httpUrl, '--admin-token', ADMIN_TOKEN, '--json']);
    assert.equal(viaUrl.code, 0, viaUrl.stderr);
    const second = JSON.parse(viaUrl.stdout);
    assert.equal(second.quotas.dailyMessages, 10);
    const env = { HERALD_URL: h.httpUrl, HERALD_ADMIN_TOKEN: ADMIN_TOKEN };
    const list = await appsInProcess(['list'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`${second.id}\\s+${second.key}`));
    assert.doesNotMatch(list.stdout, new RegExp(second.secret));
    const updated = await appsInProcess(['update', second.id, '--set', 'limits.maxPresenceMembers=7', '--json'], env);
    assert.equal(JSON.parse(updated.stdout).limits.maxPresenceMembers, 7);
    const rotated = await appsInProcess(['rotate-secret', second.id, '--json'], env);
    assert.notEqual(JSON.parse(rotated.stdout).secret, second.secret);
    const stats = await appsInProcess(['stats', second.id, '--json'], env);
    assert.equal(JSON.parse(stats.stdout).quotas.dailyMessages.limit, 10);
    assert.equal((await appsInProcess(['delete', second.id], env)).code, 2, 'delete needs --yes');
    assert.equal((await appsInProcess(['delete', second.id, '--yes'], env)).code, 0);
    const missing = await appsInProcess(['show', second.id], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No app with id/);
    const badOption = await appsInProcess(['list', '--bogus'], env);
    assert.equal(badOption.code, 2);
    assert.match(badOption.stderr, /Unknown option --bogus/);
  } finally {
    await h.stop();
    data.remove();
  }
});
