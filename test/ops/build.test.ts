/**
 * The production build: tsc -p tsconfig.build.json, then scripts/copy-assets.mjs for the
 * non-TypeScript files (what `npm run build` — scripts/build.mjs — runs) compiles src/ cleanly, and
 * bin/herald.js serves from dist/ with no src/ beside it — the layout of the Docker image and of the
 * installed package (scripts/check-package.sh checks the real package).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startChildHerald } from './child-herald.js';
import { withTimeout } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

test('npm run build (tsc + assets) compiles, and bin/herald.js serves from dist/ without src/', async (t) => {
  const pkg = mkdtempSync(join(tmpdir(), 'herald-build-'));
  t.after(() => rmSync(pkg, { recursive: true, force: true }));
  const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
  const build = await run(tsc, ['-p', 'tsconfig.build.json', '--outDir', join(pkg, 'dist')], { cwd: ROOT }).catch((err: { stdout?: string; code?: number }) => err);
  assert.equal((build as { code?: number }).code ?? 0, 0, `tsc -p tsconfig.build.json failed:\n${(build as { stdout?: string }).stdout ?? ''}`);
  await run(process.execPath, ['scripts/copy-assets.mjs', 'src', join(pkg, 'dist')], { cwd: ROOT });

  cpSync(join(ROOT, 'bin'), join(pkg, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'), 'dir');

  const node = await startChildHerald([], {}, pkg);
  t.after(() => node.cleanup());
  const health = await fetch(`${node.url}/health`);
  assert.equal(health.status, 200);
  const metrics = await (await fetch(`${node.url}/metrics`)).text();
  assert.match(metrics, /herald_info\{version="[^"]+",broker="memory"\} 1/);
  node.process.kill('SIGTERM');
  assert.equal(await withTimeout(node.exited, 30_000, 'exit after SIGTERM'), 0);
});
