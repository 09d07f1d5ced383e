/** `herald start` as users run it: a child process configured by env vars, driven by stock clients. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import Pusher from 'pusher';
import { PusherJs } from '../helpers/pusher-js.js';
import { nextEvent, withTimeout } from '../helpers/wait.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Starts `herald start` on port 0 (the port is read from the banner: no race for a port picked in
 * advance) with its own data directory (never the checkout's ./.herald, which another test or a
 * developer's Herald may hold).
 */
function startCli(args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string; ready: Promise<number>; exited: Promise<number | null> } {
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-cli-start-'));
  const child = spawn(process.execPath, ['bin/herald.js', 'start', '--port', '0', '--data-dir', dataDir, ...args], { env: { ...process.env, HERALD_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));
  let out = '';
  const ready = new Promise<number>((resolve, reject) => {
    // A child that exits before its banner settles readiness at once (no 90 s timer left running).
    child.on('exit', () => reject(new Error(`herald start exited before listening:\n${out}`)));
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const banner = /Herald listening on https?:\/\/[^:]+:(\d+)/.exec(out);
      if (banner) resolve(Number(banner[1]));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? `signal ${signal}` as unknown as number : null))));
  const guarded = withTimeout(ready, 90_000, 'herald start banner');
  guarded.catch(() => undefined); // a test that expects an early exit never awaits readiness
  return { child, output: () => out, ready: guarded, exited };
}

test('herald start with HERALD_* env: stock pusher-js and pusher SDK work against it', async () => {
  const cli = startCli([], { HERALD_HOST: '127.0.0.1', HERALD_APP_ID: 'cli-app', HERALD_APP_KEY: 'cli-key', HERALD_APP_SECRET: 'cli-secret-1' });
  try {
    const port = await cli.ready;
    assert.match(cli.output(), /Apps: cli-app \(key cli-key\)/);
    assert.doesNotMatch(cli.output(), /cli-secret-1/, 'the secret is not printed for a configured app');
    const client = new PusherJs('cli-key', { cluster: 'local', wsHost: '127.0.0.1', wsPort: port, forceTLS: false, enabledTransports: ['ws'] });
    const channel = client.subscribe('cli-channel');
    await nextEvent(channel, 'pusher:subscription_succeeded', 10_000);
    const got = nextEvent(channel, 'hello');
    const sdk = new Pusher({ appId: 'cli-app', key: 'cli-key', secret: 'cli-secret-1', host: '127.0.0.1', port: String(port), useTLS: false });
    await sdk.trigger('cli-channel', 'hello', { from: 'sdk' });
    assert.deepEqual(await got, { from: 'sdk' });
    client.disconnect();
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
});

test('with no app configured it starts a development app and prints its credentials with a warning', async () => {
  const cli = startCli(['--host', '127.0.0.1'], { HERALD_APP_ID: '', HERALD_APP_KEY: '', HERALD_APP_SECRET: '' });
  try {
    await cli.ready;
    const out = cli.output();
    assert.match(out, /DEVELOPMENT app — not for production/);
    assert.match(out, /app id: +app-id/);
    assert.match(out, /app key: +app-key/);
    assert.match(out, /app secret: +app-secret/);
  } finally {
    cli.child.kill('SIGTERM');
    assert.equal(await cli.exited, 0, 'SIGTERM exits cleanly');
  }
});

test('invalid configuration fails fast naming the setting', async () => {
  const cli = startCli(['--host', '127.0.0.1'], { HERALD_METRICS_PORT: 'not-a-port' });
  const code = await withTimeout(cli.exited, 90_000, 'exit');
  assert.equal(code, 2);
  assert.match(cli.output(), /HERALD_METRICS_PORT: expected a whole number, got "not-a-port"/);
});
