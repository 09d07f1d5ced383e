/**
 * The cluster behaviour suite on a real Redis Cluster (three masters started here from the
 * installed redis-server, on free ports, in a temporary directory): proves the keys' hash tags
 * (one slot per app for state scripts, one per Pusher channel for sharded pub/sub) and the
 * ioredis Cluster clients (HERALD_REDIS_URL with several seeds). Skipped without redis-server.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { clusterBehaviour } from './cluster-behaviour.js';

const run = promisify(execFile);

/** A free port whose cluster bus port (+10000) is free too. */
async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const p = (probe.address() as { port: number }).port;
        probe.close(() => resolve(p));
      });
    });
    if (port + 10000 > 65535) continue;
    const busFree = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port + 10000, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (busFree) return port;
  }
}

async function startRedisCluster(): Promise<{ redisUrl: string; stop(): Promise<void> } | string> {
  try {
    await run('redis-server', ['--version']);
  } catch {
    return 'redis-server is not installed: the Redis Cluster suite is skipped';
  }
  const dir = mkdtempSync(join(tmpdir(), 'herald-redis-cluster-'));
  const servers: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.exitCode !== null || s.signalCode !== null) return resolve();
            s.once('exit', () => resolve());
            s.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < 3; i++) ports.push(await freePortPair());
    for (const port of ports) {
      servers.push(
        spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--dir', dir, '--save', '', '--appendonly', 'no'], {
          stdio: 'ignore',
        }),
      );
    }
    for (const port of ports) {
      for (let attempt = 0; ; attempt++) {
        try {
          await run('redis-cli', ['-p', String(port), 'ping']);
          break;
        } catch (err) {
          if (attempt > 100) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (let attempt = 0; ; attempt++) {
      const states = await Promise.all(ports.map(async (p) => (await run('redis-cli', ['-p', String(p), 'cluster', 'info'])).stdout));
      if (states.every((s) => s.includes('cluster_state:ok'))) break;
      if (attempt > 200) throw new Error('the Redis Cluster did not become ready');
      await new Promise((r) => setTimeout(r, 50));
    }
    return { redisUrl: ports.map((p) => `redis://127.0.0.1:${p}`).join(','), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

clusterBehaviour('redis', { label: 'redis-cluster', backend: startRedisCluster });
