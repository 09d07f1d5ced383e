#!/usr/bin/env node
// Runs test/**/*.test.ts with Node's built-in test runner (through tsx), after bringing dist/ up
// to date (tests that start `node bin/herald.js` run the built JavaScript, as production does).
// Usage: npm test [-- <filter substring> ...]   e.g. `npm test -- channels` runs matching files
//        npm test -- --smoke                     the cross-Node subset (SMOKE below; .ci/run)
// Every run, filtered or not, first checks the layers (scripts/check-layers.mjs, docs/architecture.md
// "Layers"; ~0.1 s): a violation is printed first and fails the run, but the tests still run, so a
// change in progress still gets its test results.
// Browser tests (files importing playwright-core) need Debian's chromium: when it is missing, a root
// user on Debian gets it installed with apt-get; anyone else gets those files skipped with a
// warning (HERALD_REQUIRE_BROWSER=1, as in CI, makes that an error instead).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

/**
 * The smoke/e2e subset run on every supported Node line (.ci/run): stock pusher-js
 * connect/subscribe/trigger through `herald start` (the built CLI), public/private/presence
 * channels and client events, webhooks, GraphQL subscriptions, the server SDK against a live
 * Herald, Laravel Echo with migrated configuration and the embedded store (PGlite) through
 * `herald apps import`, and graceful shutdown on SIGTERM. (scripts/check-package.sh runs the
 * installed package on each line too.)
 */
export const SMOKE = [
  'test/cli/start.test.ts',
  'test/cli/migrating.test.ts',
  'test/channels/subscriptions.test.ts',
  'test/channels/client-events.test.ts',
  'test/webhooks/events.test.ts',
  'test/graphql/subscriptions.test.ts',
  'test/sdk/e2e.test.ts',
  'test/ops/shutdown.test.ts',
];

function collect(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...collect(full));
    else if (entry.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

const args = process.argv.slice(2);
const filters = args.filter((a) => !a.startsWith('--'));
let files = collect('test')
  .map((f) => relative('.', f))
  .filter((f) => filters.length === 0 || filters.some((flt) => f.includes(flt)))
  .filter((f) => !args.includes('--smoke') || SMOKE.includes(f))
  .sort();

if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

const layersPass = spawnSync(process.execPath, ['scripts/check-layers.mjs'], { stdio: 'inherit' }).status === 0;

const env = { ...process.env, HERALD_LOG_LEVEL: process.env.HERALD_LOG_LEVEL ?? 'silent' };

// dist/ must match src/: `node bin/herald.js` runs it. Type errors do not stop the tests (tsx does
// not type-check either); `npm run typecheck` reports them.
const build = spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale', '--allow-type-errors'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

files = withBrowserOrWithout(files);

const concurrency = process.env.HERALD_TEST_CONCURRENCY ?? '3';
const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=120000', ...files], { stdio: 'inherit', env });
child.on('exit', (code, signal) => {
  if (!layersPass) console.error('check-layers failed (printed before the tests): the run fails even if every test passed');
  process.exit(code || (signal ? 1 : 0) || (layersPass ? 0 : 1));
});

/** Finds (or installs) chromium for the browser tests, or leaves those files out, loudly. */
function withBrowserOrWithout(selected) {
  const browserFiles = selected.filter((f) => readFileSync(f, 'utf8').includes("from 'playwright-core'"));
  if (browserFiles.length === 0) return selected;
  // HERALD_CHROMIUM names the browser explicitly (then nothing is installed); else Debian's paths.
  const explicit = process.env.HERALD_CHROMIUM;
  const candidates = explicit ? [explicit] : ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
  let found = candidates.find((p) => existsSync(p));
  if (!found && !explicit && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    console.error('Browser tests need Debian\'s chromium; installing it with apt-get (once, about a minute)…');
    const apt = (...a) => spawnSync('apt-get', a, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
    if (apt('update', '-qq') && apt('install', '-y', '-qq', 'chromium')) found = candidates.find((p) => existsSync(p));
  }
  if (found) {
    env.HERALD_CHROMIUM = found;
    return selected;
  }
  const banner = [
    '',
    '#'.repeat(78),
    `# SKIPPING ${browserFiles.length} browser test file(s): chromium not found (${candidates.join(', ')})`,
    ...browserFiles.map((f) => `#   ${f}`),
    '# Install it (Debian: sudo apt-get install chromium) or set HERALD_CHROMIUM=/path/to/chromium.',
    '#'.repeat(78),
    '',
  ].join('\n');
  console.error(banner);
  if (process.env.HERALD_REQUIRE_BROWSER === '1') {
    console.error('HERALD_REQUIRE_BROWSER=1: failing instead of skipping');
    process.exit(1);
  }
  process.on('exit', () => console.error(banner));
  const rest = selected.filter((f) => !browserFiles.includes(f));
  if (rest.length === 0) process.exit(layersPass ? 0 : 1);
  return rest;
}
