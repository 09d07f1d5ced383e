/** The real `herald apps` CLI (spawned) creates apps a running Herald serves at once, on both backends. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runApps } from '../../src/cli/apps.js';
import { eventually, withTimeout } from '../helpers/wait.js';
import { admin, ADMIN_TOKEN, clientFor, connected, PG_SKIP_MESSAGE, PG_URL, postgresAvailable, startAppsHerald, tempDataDir, unique, cleanupPostgres, rememberApp } from './support.js';

after(cleanupPostgres);

/** `herald apps …` in this process: the same runApps the binary calls. */
async function inProcess(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runApps(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), env });
  return { code, stdout, stderr };
}

const BIN = fileURLToPath(new URL('../../bin/herald.js', import.meta.url));

/** Runs `node bin/herald.js apps …` with a clean environment (no HERALD_* leaking in). */
function herald(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HERALD_'))) as Record<string, string>;
  const child = spawn(process.execPath, [BIN, 'apps', ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return withTimeout(new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))), 60_000, `herald apps ${args[0]}`);
}

test('embedded store in use: the CLI goes through the running server, or says how to', async () => {
  const data = tempDataDir();
  const h = await startAppsHerald({ backend: 'embedded', dataDir: data.dir });
  try {
    // The first admin call creates (and locks) the server's embedded store.
    assert.equal((await admin(h, 'GET', '/admin/apps')).status, 200);
    const refused = await herald(['create', '--data-dir', data.dir]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /in use by a running Herald/);
    assert.match(refused.stderr, new RegExp(`--url ${h.httpUrl.replace(/[.:/]/g, '\\$&')} --admin-token`));

    // With the admin token, the CLI finds the server's URL in the lock and uses its admin API.
    const viaLock = await herald(['create', '--name', 'From CLI', '--data-dir', data.dir, '--json'], { HERALD_ADMIN_TOKEN: ADMIN_TOKEN });
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

    // Explicit --url / --admin-token, and the other commands.
    const viaUrl = await herald(['create', '--id', unique('cli'), '--daily-messages', '10', '--url', h.httpUrl, '--admin-token', ADMIN_TOKEN, '--json']);
    assert.equal(viaUrl.code, 0, viaUrl.stderr);
    const second = JSON.parse(viaUrl.stdout);
    assert.equal(second.quotas.dailyMessages, 10);
    // The other commands, run in-process (same code as the binary, without a process start each).
    const env = { HERALD_URL: h.httpUrl, HERALD_ADMIN_TOKEN: ADMIN_TOKEN };
    const list = await inProcess(['list'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`${second.id}\\s+${second.key}`));
    assert.doesNotMatch(list.stdout, new RegExp(second.secret));
    const updated = await inProcess(['update', second.id, '--set', 'limits.maxPresenceMembers=7', '--json'], env);
    assert.equal(JSON.parse(updated.stdout).limits.maxPresenceMembers, 7);
    const rotated = await inProcess(['rotate-secret', second.id, '--json'], env);
    assert.notEqual(JSON.parse(rotated.stdout).secret, second.secret);
    const stats = await inProcess(['stats', second.id, '--json'], env);
    assert.equal(JSON.parse(stats.stdout).quotas.dailyMessages.limit, 10);
    assert.equal((await inProcess(['delete', second.id], env)).code, 2, 'delete needs --yes');
    assert.equal((await inProcess(['delete', second.id, '--yes'], env)).code, 0);
    const missing = await inProcess(['show', second.id], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No app with id/);
  } finally {
    await h.stop();
    data.remove();
  }
});

test('a running Herald with no store yet serves apps the CLI creates directly, without a restart', async () => {
  const data = tempDataDir();
  const h = await startAppsHerald({ backend: 'embedded', dataDir: data.dir });
  try {
    const created = await herald(['create', '--id', unique('early'), '--data-dir', data.dir, '--json']);
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
    const created = await herald(['create', '--id', unique('offline'), '--data-dir', data.dir, '--json']);
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

test('PostgreSQL: `herald apps create` on the database reaches a running Herald without a restart', async (t) => {
  if (!(await postgresAvailable())) return t.skip(PG_SKIP_MESSAGE);
  const h = await startAppsHerald({ backend: 'postgres', reloadIntervalMs: 3_600_000 });
  try {
    const id = unique('pgcli');
    rememberApp(id);
    const created = await herald(['create', '--id', id, '--name', 'PG CLI', '--database-url', PG_URL, '--json']);
    assert.equal(created.code, 0, created.stderr);
    const app = JSON.parse(created.stdout);
    await eventually(() => h.herald.apps.byId(id), 5000, 'the running Herald to hear about the app');
    const client = clientFor(h, app.key);
    try {
      await connected(client);
    } finally {
      client.disconnect();
    }
    const removed = await herald(['delete', id, '--yes', '--database-url', PG_URL]);
    assert.equal(removed.code, 0, removed.stderr);
    await eventually(() => h.herald.apps.byId(id) === undefined, 5000, 'the running Herald to drop the app');
  } finally {
    await h.stop();
  }
});
