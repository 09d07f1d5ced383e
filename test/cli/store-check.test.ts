/**
 * A damaged embedded store (docs/operations.md): `herald start` refuses it with a message naming
 * the data directory and what to do, exit code 4 (not a WASM abort trace), and `herald store check`
 * finds what the files and the engine show: a cut control file, a table file cut mid-page, a table
 * file that lost whole pages its primary key still points at.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedDatabase } from '../../src/storage/embedded.js';
import { withTimeout } from '../helpers/wait.js';

const root = mkdtempSync(join(tmpdir(), 'herald-store-check-'));

function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['bin/herald.js', ...args], { env: { ...process.env, HERALD_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return withTimeout(
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))),
    90_000,
    `herald ${args.join(' ')}`,
  ).catch((err) => {
    child.kill('SIGKILL');
    throw err;
  });
}

/** A store holding two apps, made by `herald apps create`; returns a fresh copy per call. */
const pristine = join(root, 'pristine');
let made: Promise<void> | undefined;
async function storeCopy(name: string): Promise<string> {
  made ??= (async () => {
    for (const id of ['damage-a', 'damage-b']) {
      const created = await runCli(['apps', 'create', '--id', id, '--data-dir', pristine, '--json']);
      assert.equal(created.code, 0, created.stderr);
    }
  })();
  await made;
  const dir = join(root, name);
  cpSync(pristine, dir, { recursive: true });
  return dir;
}

async function relationFile(dir: string, table: string): Promise<string> {
  const db = await openEmbeddedDatabase(dir);
  try {
    return join(dir, (await db.query<{ path: string }>('SELECT pg_relation_filepath($1) AS path', [table]))[0]!.path);
  } finally {
    await db.close();
  }
}

test('a healthy store passes herald store check', async () => {
  const dir = await storeCopy('healthy');
  const check = await runCli(['store', 'check', '--data-dir', dir]);
  assert.equal(check.code, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /herald_apps: 2 rows/);
  assert.match(check.stdout, /No damage found\./);
});

test('a truncated control file: herald start exits 4 naming the directory, store check names the file', async () => {
  const dir = await storeCopy('control');
  truncateSync(join(dir, 'global', 'pg_control'), 100);
  const start = await runCli(['start', '--port', '0', '--host', '127.0.0.1', '--data-dir', dir]);
  assert.equal(start.code, 4, start.stderr);
  assert.doesNotMatch(start.stderr, /Aborted\(\)|    at /, 'no WASM abort, no stack trace');
  assert.match(start.stderr, new RegExp(`^herald: The embedded store in ${dir} is damaged and cannot be used:\\n  - global/pg_control is 100 bytes; it is always 8192`));
  assert.match(start.stderr, /Restore the directory from a backup, or move it aside/);
  assert.match(start.stderr, /`herald store check --data-dir /);
  const check = await runCli(['store', 'check', '--data-dir', dir]);
  assert.equal(check.code, 4);
  assert.match(check.stdout, /Damaged \(1 problem\):\n  - global\/pg_control is 100 bytes/);
});

test('a table file cut mid-page: herald start exits 4 naming the file', async () => {
  const dir = await storeCopy('mid-page');
  const file = await relationFile(dir, 'herald_apps');
  truncateSync(file, 100);
  const start = await runCli(['start', '--port', '0', '--host', '127.0.0.1', '--data-dir', dir]);
  assert.equal(start.code, 4, start.stderr);
  assert.match(start.stderr, new RegExp(`${file.slice(dir.length + 1)} is 100 bytes, not a whole number of 8192-byte pages \\(truncated\\)`));
});

test('a table file that lost whole pages: herald store check finds the rows its index still has', async () => {
  const dir = await storeCopy('lost-pages');
  truncateSync(await relationFile(dir, 'herald_apps'), 0);
  const check = await runCli(['store', 'check', '--data-dir', dir]);
  assert.equal(check.code, 4, check.stdout + check.stderr);
  assert.match(check.stdout, /  - table herald_apps: (0 rows in the table file but 2 in its primary key index|its primary key index points at rows the table file no longer has)/);
});
