/**
 * The embedded store's worker is a plain .mjs file loaded by URL: the build (tsc + copy-assets) must
 * ship it next to embedded.js, and the compiled store must work with no TypeScript loader at all —
 * the layout of a published package or the Docker image. (test/ops/build.test.ts starts a built
 * Herald, but with a fresh data directory, so it never opens the store.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

const CHECK_SCRIPT = `
import { seedEmbeddedDataDir } from './dist/apps/data-dir.js';
import { openDatabase } from './dist/storage/open.js';
const dataDir = process.argv[2];
await seedEmbeddedDataDir(dataDir);
const db = await openDatabase({ dataDir });
await db.query('CREATE TABLE built (at TIMESTAMPTZ, big BIGINT)');
await db.query('INSERT INTO built VALUES ($1, $2)', [new Date(0), 9007199254740993n]);
const [row] = await db.query('SELECT * FROM built');
const error = await db.query('SELECT * FROM missing').catch((err) => err);
await db.close();
process.stdout.write(JSON.stringify({ at: row.at instanceof Date, big: typeof row.big, code: error.code }));
`;

test('a built dist/ ships the worker and runs the embedded store without tsx', async (t) => {
  const pkg = mkdtempSync(join(tmpdir(), 'herald-embedded-dist-'));
  t.after(() => rmSync(pkg, { recursive: true, force: true }));
  const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
  const build = await run(tsc, ['-p', 'tsconfig.build.json', '--outDir', join(pkg, 'dist')], { cwd: ROOT }).catch((err: { stdout?: string; code?: number }) => err);
  assert.equal((build as { code?: number }).code ?? 0, 0, `tsc failed:\n${(build as { stdout?: string }).stdout ?? ''}`);
  await run(process.execPath, ['scripts/copy-assets.mjs', 'src', join(pkg, 'dist')], { cwd: ROOT });
  assert.ok(existsSync(join(pkg, 'dist', 'storage', 'embedded-worker.mjs')), 'copy-assets copies the worker');

  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'), 'dir');
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(join(pkg, 'check.mjs'), CHECK_SCRIPT);
  const env: Record<string, string | undefined> = { ...process.env };
  delete env.NODE_OPTIONS; // no tsx anywhere: plain Node, like the published package
  const { stdout } = await run(process.execPath, ['check.mjs', join(pkg, 'data')], { cwd: pkg, env, timeout: 120_000 });
  assert.deepEqual(JSON.parse(stdout), { at: true, big: 'bigint', code: '42P01' });
});
