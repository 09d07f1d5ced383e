/** `herald --version`, the port-in-use message, unknown commands, and the terminal log format. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { prettyLine } from '../../src/platform/log-pretty.js';
import { usePrettyLogs } from '../../src/platform/logger.js';
import { withTimeout } from '../helpers/wait.js';

const run = promisify(execFile);
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function herald(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, ['bin/herald.js', ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
}

test('herald --version (and -v, version) prints the package version', async () => {
  for (const flag of ['--version', '-v', 'version']) {
    const { code, stdout } = await herald([flag]);
    assert.equal(code, 0);
    assert.equal(stdout, `${VERSION}\n`);
  }
});

test('an unknown command or option exits 2 with help', async () => {
  const unknown = await herald(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"[\s\S]*Usage: herald/);
  const option = await herald(['start', '--prot', '6001']);
  assert.equal(option.code, 2);
  assert.match(option.stderr, /Unknown option --prot \(see `herald start --help`\)/);
});

test('port in use: one line naming the port, the likely cause and the setting to change', async (t) => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  t.after(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const child = spawn(process.execPath, ['bin/herald.js', 'start', '--host', '127.0.0.1', '--port', String(port), '--data-dir', '/nonexistent-never-opened'], {
    env: { ...process.env, HERALD_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = await withTimeout(new Promise<number | null>((r) => child.on('exit', r)), 90_000, 'herald exits');
  assert.equal(code, 2);
  assert.match(stderr, new RegExp(`herald: port ${port} on 127\\.0\\.0\\.1 is already in use: another Herald \\(or another program\\)`));
  assert.match(stderr, /--port \/ HERALD_PORT/);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
});

test('pretty log lines: time, level, message, fields; error stacks indented; JSON otherwise', () => {
  const line = JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 2, 3, 4, 5, 6), pid: 1, hostname: 'h', msg: 'slow client', socketId: '1.2', bytes: 5, note: 'two words' });
  assert.equal(prettyLine(line, false), '03:04:05.006 WARN  slow client socketId=1.2 bytes=5 note="two words"\n');
  const withErr = prettyLine(JSON.stringify({ level: 50, time: 0, msg: 'failed', err: { type: 'Error', message: 'x', stack: 'Error: x\n    at f' } }), false);
  assert.equal(withErr, '00:00:00.000 ERROR failed\n    Error: x\n        at f\n');
  assert.match(prettyLine(JSON.stringify({ level: 30, time: 0, msg: 'hi' }), true), /\x1b\[32mINFO /);
  assert.equal(prettyLine('not json', false), 'not json\n');
  assert.equal(usePrettyLogs('auto', true), true);
  assert.equal(usePrettyLogs('auto', false), false);
  assert.equal(usePrettyLogs('json', true), false);
  assert.equal(usePrettyLogs('pretty', false), true);
});

test('bin/herald.js without dist/: says how to build it (checkout) or that the install is broken', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-nodist-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(new URL('../../bin', import.meta.url), join(dir, 'bin'), { recursive: true });
  const attempt = () => run(process.execPath, [join(dir, 'bin', 'herald.js'), '--version']).then(() => assert.fail('should exit 1'), (err: { code: number; stderr: string }) => err);
  const installed = await attempt();
  assert.equal(installed.code, 1);
  assert.match(installed.stderr, /dist\/cli\/main\.js is missing: this installation is incomplete/);
  mkdirSync(join(dir, 'src', 'cli'), { recursive: true });
  writeFileSync(join(dir, 'src', 'cli', 'main.ts'), '');
  const checkout = await attempt();
  assert.match(checkout.stderr, /this checkout has not been built[\s\S]*npm install.*or `npm run build`/);
});

test('under `npm start`, killing npm (which does not pass signals on) still shuts Herald down gracefully', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-npm-start-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const npm = spawn('npm', ['start', '--', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--log-format', 'json'], {
    env: { ...process.env, HERALD_LOG_LEVEL: 'info', HERALD_APP_ID: '', HERALD_APP_KEY: '', HERALD_APP_SECRET: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  npm.stdout.on('data', (d) => (out += d));
  npm.stderr.on('data', (d) => (out += d));
  // The pipes close when the last process holding them (Herald, after npm) exits.
  const closed = new Promise<void>((r) => npm.stdout.on('close', () => r()));
  await withTimeout(
    new Promise<void>((resolve) => npm.stdout.on('data', () => out.includes('Herald listening') && resolve())),
    90_000,
    'banner through npm start',
  );
  npm.kill('SIGTERM');
  await withTimeout(closed, 30_000, 'Herald to exit after npm did');
  assert.match(out, /npm \(the parent process\) exited without passing its signal on: shutting down/);
  assert.match(out, /"msg":"stopped"/);
});
