#!/usr/bin/env node
// Entry point of the `herald` command: runs the compiled JavaScript in dist/. A git checkout builds
// dist/ in `npm install` (the `prepare` script) or with `npm run build`; the TypeScript loader (tsx)
// is a development dependency and is never needed at run time.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli', 'main.js');

if (!existsSync(compiled)) {
  const checkout = existsSync(join(root, 'src', 'cli', 'main.ts'));
  process.stderr.write(
    checkout
      ? `herald: ${join(root, 'dist')} is missing: this checkout has not been built.\n` +
          '  Run `npm install` (it builds dist/ through the prepare script) or `npm run build`.\n'
      : `herald: ${compiled} is missing: this installation is incomplete (reinstall the package).\n`,
  );
  process.exit(1);
}
warnIfStale();
await import(pathToFileURL(compiled).href);

/** In a checkout, a dist/ older than src/ runs old code: say so (a few hundred stat calls, ~1 ms). */
function warnIfStale() {
  const src = join(root, 'src');
  const stamp = join(root, 'dist', '.build-stamp');
  if (!existsSync(src) || !existsSync(stamp)) return;
  const built = statSync(stamp).mtimeMs;
  const newer = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      const found = entry.isDirectory() ? newer(full) : statSync(full).mtimeMs > built ? full : undefined;
      if (found) return found;
    }
    return undefined;
  };
  const changed = newer(src);
  if (changed) process.stderr.write(`herald: warning: dist/ is older than ${changed.slice(root.length + 1)}; run \`npm run build\` to run the current sources\n`);
}
