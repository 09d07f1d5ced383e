#!/usr/bin/env node
// `npm run build` (and `prepare`, which a checkout's `npm install` runs): compiles src/ to dist/ with
// tsc -p tsconfig.build.json, copies the non-TypeScript files (scripts/copy-assets.mjs), and stamps
// dist/.build-stamp so bin/herald.js and the test runner can tell when src/ has changed since.
//   --if-stale     build only when a file under src/ is newer than the stamp (the test runner)
//   --allow-type-errors  keep tsc's output when it reports type errors (the test runner: tests run
//                  under tsx, which does not type-check either; `npm run typecheck` reports them)
//   --if-possible  skip quietly when there is nothing to build from (no src/ or no TypeScript:
//                  a production install such as `npm ci --omit=dev`)
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = join(root, 'dist');
const stamp = join(dist, '.build-stamp');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const flags = new Set(process.argv.slice(2));

/** Newest modification time of any file under `dir`. */
function newestMtime(dir) {
  let newest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

if (!existsSync(src) || !existsSync(tsc)) {
  if (flags.has('--if-possible')) process.exit(0);
  console.error(`herald build: ${existsSync(src) ? 'TypeScript is not installed (npm install, with dev dependencies)' : 'no src/ to build from'}`);
  process.exit(1);
}
if (flags.has('--if-stale') && existsSync(stamp) && statSync(stamp).mtimeMs >= newestMtime(src)) process.exit(0);

const started = Date.now();
// Start clean: a source file deleted since the last build must not survive as stale JavaScript.
rmSync(dist, { recursive: true, force: true });
try {
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
} catch {
  if (!flags.has('--allow-type-errors') || !existsSync(join(dist, 'cli', 'main.js'))) {
    console.error('herald build: tsc failed (see above)');
    rmSync(dist, { recursive: true, force: true });
    process.exit(1);
  }
  // No stamp: the next run builds again.
  execFileSync(process.execPath, [join(root, 'scripts', 'copy-assets.mjs'), src, dist], { cwd: root, stdio: 'ignore' });
  console.error('herald build: tsc reported type errors (see above); dist/ built anyway for the tests');
  process.exit(0);
}
execFileSync(process.execPath, [join(root, 'scripts', 'copy-assets.mjs'), src, dist], { cwd: root, stdio: 'ignore' });
mkdirSync(dist, { recursive: true });
writeFileSync(stamp, `${new Date().toISOString()}\n`);
process.stderr.write(`herald build: dist/ built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
