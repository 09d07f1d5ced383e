/**
 * Dependencies not up yet at start (docs/operations.md): `herald start` with PostgreSQL, Redis or
 * NATS unreachable retries with back-off, one log line per attempt (what, where, next try), serves
 * once the dependency appears (it "appears" here as a TCP forwarder to the shared server, started
 * on the port Herald is already trying), and with HERALD_STARTUP_TIMEOUT_MS gives up with exit
 * code 3 and a clear message, never a stack trace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { eventually, withTimeout } from '../helpers/wait.js';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function startHerald(env: Record<string, string>) {
  const child = spawn(process.execPath, ['bin/herald.js', 'start', '--port', '0', '--host', '127.0.0.1'], {
    env: { ...process.env, HERALD_LOG_LEVEL: 'info', HERALD_DATA_DIR: mkdtempSync(join(tmpdir(), 'herald-startup-')), HERALD_CLUSTER_PREFIX: `startup${process.pid}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    /** JSON log lines whose msg matches. */
    logs: (pattern: RegExp) =>
      stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; [k: string]: unknown })
        .filter((l) => pattern.test(l.msg)),
  };
}

const CASES = [
  { dependency: 'Redis', env: (port: number) => ({ HERALD_BROKER: 'redis', HERALD_REDIS_URL: `redis://127.0.0.1:${port}` }), target: 6379, where: (port: number) => `redis://127.0.0.1:${port}` },
  { dependency: 'NATS', env: (port: number) => ({ HERALD_BROKER: 'nats', HERALD_NATS_URL: `nats://127.0.0.1:${port}` }), target: 4222, where: (port: number) => `nats://127.0.0.1:${port}` },
  { dependency: 'PostgreSQL', env: (port: number) => ({ HERALD_DATABASE_URL: `postgres://postgres:pw@127.0.0.1:${port}/test` }), target: 5432, where: (port: number) => `postgres://postgres:[redacted]@127.0.0.1:${port}/test` },
];

for (const c of CASES) {
  test(`${c.dependency} not up yet: retried with one log line per attempt, /ready 503 meanwhile, served once it appears, /ready 200`, async () => {
    const port = await freePort();
    const herald = startHerald(c.env(port));
    const proxy = new TcpProxy(c.target);
    try {
      const pattern = new RegExp(`^${c.dependency} at ${c.where(port).replace(/[.[\]]/g, '\\$&')} unreachable \\(.*\\); attempt (\\d+) failed, next try in \\d+\\.\\d s$`);
      const attempts = (await eventually(() => {
        const lines = herald.logs(pattern);
        return lines.length >= 2 ? lines : undefined;
      }, 30_000, 'two failed attempts').catch((err) => assert.fail(`${(err as Error).message}\n${herald.stdout()}${herald.stderr()}`)))!;
      assert.deepEqual(attempts.slice(0, 2).map((l) => l.attempt), [1, 2]);
      assert.equal(attempts[0]!.dependency, c.dependency);
      assert.doesNotMatch(herald.stdout() + herald.stderr(), /Herald listening|at .*\.ts:\d+|    at /, 'not serving yet, no stack trace');
      // Listening already: liveness 200, readiness 503 naming why, everything else 503.
      const early = herald.logs(/^listening; connecting to dependencies before serving$/)[0];
      assert.ok(early, 'the early listening line');
      const base = `http://127.0.0.1:${early.port as number}`;
      assert.equal((await fetch(`${base}/health`)).status, 200);
      const notReady = await fetch(`${base}/ready`);
      assert.equal(notReady.status, 503);
      assert.match(JSON.stringify(await notReady.json()), /starting: waiting for dependencies/);
      const api = await fetch(`${base}/apps/app-id/channels`);
      assert.equal(api.status, 503);
      const refusal = (await api.json()) as { error: string; description?: string };
      assert.match(refusal.error, /Herald is starting/);
      assert.ok(refusal.description, 'Beams SDKs need {error, description} (spec F)');

      // The dependency comes up on the port Herald keeps trying.
      proxy.port = port;
      await proxy.start();
      await eventually(() => /Herald listening on/.test(herald.stdout()), 60_000, 'the banner').catch((err) => assert.fail(`${(err as Error).message}\n${herald.stdout()}${herald.stderr()}`));
      const url = /Herald listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(herald.stdout())![1]!;
      const ready = await fetch(`${url}/ready`);
      assert.equal(ready.status, 200, await ready.text());
      assert.ok(herald.logs(new RegExp(`^${c.dependency} at .* reached after \\d+ attempts$`)).length === 1);
    } finally {
      herald.child.kill('SIGTERM');
      await withTimeout(herald.exited, 20_000, 'exit').catch(() => herald.child.kill('SIGKILL'));
      await proxy.stop();
    }
  });
}

test('HERALD_STARTUP_TIMEOUT_MS: past it, herald start exits with code 3 and one clear message', async () => {
  const port = await freePort();
  const herald = startHerald({ HERALD_BROKER: 'redis', HERALD_REDIS_URL: `redis://127.0.0.1:${port}`, HERALD_STARTUP_TIMEOUT_MS: '1500' });
  const code = await withTimeout(herald.exited, 30_000, 'exit');
  assert.equal(code, 3, herald.stderr());
  assert.match(
    herald.stderr(),
    new RegExp(`^herald: Redis at redis://127\\.0\\.0\\.1:${port} was still unreachable after \\d+ s \\(HERALD_STARTUP_TIMEOUT_MS\\); last error: .*raise HERALD_STARTUP_TIMEOUT_MS \\(0 waits forever\\)\\.\\n$`),
  );
});
