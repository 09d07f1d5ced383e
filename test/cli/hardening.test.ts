/**
 * `herald start` as an operator meets it (docs/hardening.md, docs/configuration.md): configuration
 * files checked like flags, refused secrets, and what happens around start and shutdown. Each test
 * runs bin/herald.js as a child process and reads its exit code and output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withTimeout } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'herald-cli-hardening-'));

/** Runs `herald <args>` to its exit; resolves with the exit code and everything it printed. */
export function runCli(args: string[], env: Record<string, string> = {}, ms = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['bin/herald.js', ...args], {
    env: { ...process.env, HERALD_LOG_LEVEL: 'warn', HERALD_DATA_DIR: mkdtempSync(join(dir, 'data-')), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return withTimeout(
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))),
    ms,
    `herald ${args.join(' ')} to exit`,
  ).catch((err) => {
    child.kill('SIGKILL');
    throw err;
  });
}

test('a config file with unknown keys and bad values is refused with every problem at once, paths and suggestions', async () => {
  const file = join(dir, 'typos.yaml');
  writeFileSync(
    file,
    [
      'logleval: debug',
      'activityTimeout: 0',
      'apps:',
      '  - id: a1',
      '    key: k1',
      '    secret: secret-1',
      '    clientevents: false',
      '    limits:',
      '      maxConections: 5',
      'app:',
      '  secrt: x',
      'zzzzzzzz: 1',
    ].join('\n'),
  );
  const { code, stderr } = await runCli(['start', '--config', file, '--port', '0']);
  assert.equal(code, 2, stderr);
  assert.match(stderr, /^herald: Invalid configuration:/);
  const lines = stderr.trim().split('\n').slice(1);
  assert.deepEqual(lines, [
    `${file}: logleval: unknown key; did you mean "logLevel"?`,
    `${file}: apps.0.clientevents: unknown key; did you mean "apps.0.clientEvents"?`,
    `${file}: apps.0.limits.maxConections: unknown key; did you mean "apps.0.limits.maxConnections"?`,
    `${file}: app.secrt: unknown key; did you mean "app.secret"?`,
    lines[4]!.startsWith(`${file}: zzzzzzzz: unknown key (known here: host, port,`) ? lines[4]! : 'zzzzzzzz listed with the known keys',
    lines[5]!.startsWith('activityTimeout (HERALD_ACTIVITY_TIMEOUT / --activity-timeout): ') ? lines[5]! : 'the bad value named by file key, variable and flag',
  ]);
});

test('published example and low-entropy admin tokens are refused at start, saying how to make one', async () => {
  for (const token of ['change-me-to-a-long-random-string', 'aaaaaaaaaaaaaaaa', '0123456789abcdef']) {
    const { code, stderr } = await runCli(['start', '--port', '0'], { HERALD_ADMIN_TOKEN: token });
    assert.equal(code, 2, `${token}: ${stderr}`);
    assert.match(stderr, /^herald: Invalid configuration:\nadminToken \(HERALD_ADMIN_TOKEN \/ --admin-token\): (is a published example or placeholder|is too easy to guess)/);
    assert.match(stderr, /generate one with `openssl rand -hex 32`/);
    assert.doesNotMatch(stderr, new RegExp(token), 'the token itself is not echoed');
  }
});

test('a Herald whose stdout reader went away still exits on SIGTERM (logging never blocks shutdown)', async () => {
  const child = spawn(process.execPath, ['bin/herald.js', 'start', '--port', '0', '--host', '127.0.0.1'], {
    env: { ...process.env, HERALD_LOG_LEVEL: 'info', HERALD_DATA_DIR: mkdtempSync(join(dir, 'data-')) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    let out = '';
    await withTimeout(
      new Promise<void>((resolve) => child.stdout.on('data', (c: Buffer) => ((out += c.toString()), out.includes('Herald listening') && resolve()))),
      60_000,
      'the banner',
    );
    const port = Number(/http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
    // The log reader goes away; Herald keeps logging (refused API calls) into the dead pipe.
    child.stdout.destroy();
    for (let i = 0; i < 50; i++) await (await fetch(`http://127.0.0.1:${port}/apps/x/events`, { method: 'POST', body: '{}' })).text();
    child.kill('SIGTERM');
    assert.equal(await withTimeout(exited, 20_000, 'exit after SIGTERM'), 0);
  } finally {
    child.kill('SIGKILL');
  }
});
