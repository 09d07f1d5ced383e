/** `herald apps` writing the embedded store directly: a running or later-started Herald serves the app. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../helpers/wait.js';
import { clientFor, connected, startAppsHerald, tempDataDir, unique } from './support.js';
import { heraldApps } from './cli-support.js';

test('a running Herald with no store yet serves apps the CLI creates directly, without a restart', async () => {
  const data = tempDataDir();
  const h = await startAppsHerald({ backend: 'embedded', dataDir: data.dir });
  try {
    const created = await heraldApps(['create', '--id', unique('early'), '--data-dir', data.dir, '--json']);
    assert.equal(created.code, 0, created.stderr);
    const app = JSON.parse(created.stdout);
    await eventually(() => h.herald.apps.byId(app.id), 15_000, 'the server to open the new store');
    const client = clientFor(h, app.key);
    try {
      await connected(client);
    } finally {
      client.disconnect();
    }
  } finally {
    await h.stop();
    data.remove();
  }
});

test('embedded store not in use: the CLI writes it directly and a started Herald serves the app', async () => {
  const data = tempDataDir();
  try {
    const created = await heraldApps(['create', '--id', unique('offline'), '--data-dir', data.dir, '--json']);
    assert.equal(created.code, 0, created.stderr);
    const app = JSON.parse(created.stdout);
    const h = await startAppsHerald({ backend: 'embedded', dataDir: data.dir });
    try {
      const client = clientFor(h, app.key);
      try {
        await connected(client);
      } finally {
        client.disconnect();
      }
    } finally {
      await h.stop();
    }
  } finally {
    data.remove();
  }
});
