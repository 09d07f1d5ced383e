#!/usr/bin/env node
// Second half of `npm run build`: tsc emits only JavaScript, so every other file under src/
// (GraphQL schema, console HTML/CSS/JS, SQL…) is copied to the same place under dist/.
// Usage: node scripts/copy-assets.mjs [srcDir] [outDir]   (defaults: src dist)
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const [srcDir = 'src', outDir = 'dist'] = process.argv.slice(2);

function* assets(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) yield* assets(full);
    else if (entry.isFile() && !entry.name.endsWith('.ts')) yield full;
  }
}

let copied = 0;
for (const file of assets(srcDir)) {
  const target = join(outDir, relative(srcDir, file));
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(file, target);
  copied++;
}
process.stdout.write(`copied ${copied} asset file(s) from ${srcDir}/ to ${outDir}/\n`);
