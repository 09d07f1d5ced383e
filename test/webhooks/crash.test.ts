/**
 * A real crash: the `herald` process is killed with SIGKILL (no drain, no clean close of the
 * embedded store) while events are mid-retry; a new process on the same data directory delivers them.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RawClient } from '../helpers/raw-client.js';
import { withTimeout } from '../helpers/wait.js';
import { WAIT_MS } from './support.js';
import { WebhookReceiver } from './receiver.js';

const APP = { id: 'wh-crash', key: 'wh-crash-key', secret: 'wh-crash-secret' };

/** Starts `bin/herald.js start` and resolves with the process and its port (from the banner). */
async function spawnHerald(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['bin/herald.js', 'start'], {
    env: { ...process.env, HERALD_LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const port = await withTimeout(
    new Promise<number>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /Herald listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
        if (match) resolve(Number(match[1]));
      });
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('exit', (code) => reject(new Error(`herald exited with ${code}: ${output}`)));
    }),
    60_000,
    'herald to start',
  );
  return { child, port };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return withTimeout(new Promise<void>((resolve) => child.once('exit', () => resolve())), 20_000, 'herald to exit');
}

describe('webhooks after a crash', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('delivers events that were in the outbox when the process was killed (embedded store)', { timeout: 180_000 }, async () => {
    const receiver = await WebhookReceiver.start(APP, 'fail');
    cleanups.push(() => receiver.close());
    const dataDir = mkdtempSync(join(tmpdir(), 'herald-webhook-crash-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const env = {
      HERALD_HOST: '127.0.0.1',
      HERALD_PORT: '0',
      HERALD_DATA_DIR: dataDir,
      HERALD_APP_ID: APP.id,
      HERALD_APP_KEY: APP.key,
      HERALD_APP_SECRET: APP.secret,
      HERALD_APP_WEBHOOK_URL: receiver.url,
      HERALD_WEBHOOK_BACKOFF_MAX_MS: '200',
    };

    const first = await spawnHerald(env);
    cleanups.push(() => void first.child.kill('SIGKILL'));
    const raw = await RawClient.established(`ws://127.0.0.1:${first.port}`, APP.key);
    const channels = Array.from({ length: 5 }, (_, i) => `crash-${i}`);
    for (const channel of channels) raw.send({ event: 'pusher:subscribe', data: { channel } });
    // Attempted (and refused) means committed to the outbox.
    await receiver.waitUntil(
      () => channels.every((c) => receiver.requests.some((r) => r.events.some((e) => e.channel === c && e.name === 'channel_occupied'))),
      WAIT_MS,
      'first attempts',
    );
    first.child.kill('SIGKILL');
    await exited(first.child);
    raw.close();

    receiver.mode = 'ok';
    const second = await spawnHerald(env);
    cleanups.push(async () => {
      second.child.kill('SIGTERM');
      await exited(second.child);
    });
    await receiver.waitUntil(
      () => channels.every((c) => receiver.deliveredMatching('channel_occupied', c).length > 0),
      60_000,
      'every event after the crash',
    );
    assert.equal(receiver.invalidCount, 0);
    for (const channel of channels) {
      assert.deepEqual(
        receiver.delivered.filter((e) => e.channel === channel).map((e) => e.name),
        ['channel_occupied'], // HERALD_APP_WEBHOOK_URL gets the six default types: no subscription_count
      );
    }
  });
});
