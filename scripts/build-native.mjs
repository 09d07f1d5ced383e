#!/usr/bin/env node
// Builds the optional native send path (native/herald_send.cc) with node-gyp against the local
// Node headers. Run by `npm install` / `npm ci` in a checkout (the root package's install script)
// and by `npm run build:native`. Never fails the install: without the addon Herald uses its
// JavaScript send path (docs/operations.md, "Native send path"). Nothing is downloaded: when no
// local headers are found the build is skipped.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const native = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'native');
const say = (line) => console.log(`herald: ${line}`);

function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((p) => p && existsSync(p));
}

function headersDir() {
  // npm passes its `nodedir` setting on as npm_config_nodedir, which node-gyp reads by itself.
  if (process.env.npm_config_nodedir) return undefined;
  const prefix = join(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null;
}

function main() {
  if (process.env.HERALD_SKIP_NATIVE_BUILD) return say('native send path: build skipped (HERALD_SKIP_NATIVE_BUILD)');
  if (process.platform !== 'linux') return say(`native send path: not built on ${process.platform} (Linux only); using JavaScript`);
  const gyp = nodeGyp();
  if (!gyp) return say('native send path: node-gyp not found; using JavaScript');
  const nodedir = headersDir();
  if (nodedir === null) return say('native send path: no local Node headers (set npm_config_nodedir); using JavaScript');
  const args = [gyp, 'rebuild', '--loglevel=error', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
  const run = spawnSync(process.execPath, args, { cwd: native, encoding: 'utf8', timeout: 300_000 });
  if (run.status === 0) return say('native send path built (native/build/Release/herald_send.node)');
  const why = `${run.stderr ?? ''}${run.stdout ?? ''}`.trim().split('\n').slice(-5).join('\n  ');
  say(`native send path: build failed; Herald will use JavaScript. Last lines:\n  ${why || run.error?.message}`);
}

main();
