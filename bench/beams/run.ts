/**
 * Beams delivery bench: one publish to an interest with N registered devices (mixed APNs / FCM /
 * Web Push), delivered through local fakes running in a child process; reports deliveries/s.
 *
 *   node --import tsx bench/beams/run.ts [--devices 10000] [--mix apns,fcm,web] [--rounds 3]
 *        [--concurrency 100] [--page-size 1000] [--json]
 *
 * Herald runs in this process (embedded store in a temporary directory); its CPU time per delivery
 * is measured with process.cpuUsage over each round. The first round warms up connections and JIT.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beamsModule } from '../../src/beams/module.js';
import { BEAMS_SERVICE } from '../../src/beams/service.js';
import { tokenHash } from '../../src/beams/store.js';
import type { Platform } from '../../src/beams/validation.js';
import { configSchema } from '../../src/config/schema.js';
import { startHerald } from '../../src/server/herald.js';
import { createLogger } from '../../src/platform/logger.js';
import { DATABASE_SERVICE, storageModule } from '../../src/app-store/database-module.js';
import type { FromChild, ToChild } from './fakes-process.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const DEVICES = Number(arg('devices', '10000'));
const MIX = arg('mix', 'apns,fcm,web').split(',') as Platform[];
const ROUNDS = Number(arg('rounds', '3'));
const CONCURRENCY = Number(arg('concurrency', '100'));
const PAGE_SIZE = Number(arg('page-size', '1000'));
const JSON_OUT = process.argv.includes('--json');

function startFakes(): Promise<{ child: ChildProcess; ready: Extract<FromChild, { type: 'ready' }>; ask: <T extends FromChild['type']>(msg: ToChild, reply: T) => Promise<Extract<FromChild, { type: T }>> }> {
  const child = fork(fileURLToPath(new URL('./fakes-process.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = <T extends FromChild['type']>(msg: ToChild, reply: T) =>
    new Promise<Extract<FromChild, { type: T }>>((resolve) => {
      const onMessage = (m: FromChild) => {
        if (m.type !== reply) return;
        child.off('message', onMessage);
        resolve(m as Extract<FromChild, { type: T }>);
      };
      child.on('message', onMessage);
      if (msg) child.send(msg);
    });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', (m: FromChild) => {
      if (m.type === 'ready') resolve({ child, ready: m, ask });
    });
  });
}

async function main(): Promise<void> {
  const fakes = await startFakes();
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-beams-bench-'));
  const config = configSchema.parse({ host: '127.0.0.1', port: 0, logLevel: 'warn', dataDir });
  const herald = await startHerald({
    config,
    apps: [],
    logger: createLogger('warn', false),
    modules: [storageModule(), beamsModule({ delivery: { concurrency: CONCURRENCY, pageSize: PAGE_SIZE } })],
  });
  try {
    const service = herald.services.get(BEAMS_SERVICE)!;
    const { apns, fcm } = fakes.ready;
    const instance = await service.instances.create({
      id: 'bench',
      apns: { keyId: apns.keyId, teamId: apns.teamId, privateKey: apns.privateKeyPem, topic: apns.topic, endpoint: apns.url },
      fcm: { serviceAccount: fcm.account as never, endpoint: fcm.url },
      web: { allowedEndpointHosts: ['127.0.0.1'], allowInsecureEndpoints: true },
    });
    fakes.child.send({ type: 'vapid', key: instance.settings.web.vapidPublicKey } satisfies ToChild);

    // Register devices straight through SQL, round-robin over the platform mix.
    const db = await herald.services.get(DATABASE_SERVICE)!();
    const counts: Record<Platform, number> = { apns: 0, fcm: 0, web: 0 };
    for (let start = 0; start < DEVICES; start += 1000) {
      const n = Math.min(1000, DEVICES - start);
      const platforms = Array.from({ length: n }, (_, i) => MIX[(start + i) % MIX.length]!);
      const webIds = platforms.flatMap((p, i) => (p === 'web' ? [`b${start + i}`] : []));
      const webTokens = webIds.length ? (await fakes.ask({ type: 'subscribe', ids: webIds }, 'subscriptions')).tokens : [];
      let w = 0;
      const tokens = platforms.map((p, i) => (p === 'apns' ? (start + i).toString(16).padStart(64, '0') : p === 'fcm' ? `fcm-bench-${start + i}` : webTokens[w++]!));
      const ids = platforms.map((p, i) => `${p}-bench-${String(start + i).padStart(8, '0')}`);
      for (const p of platforms) counts[p]++;
      await db.query(
        `INSERT INTO beams_devices (instance_id, id, platform, token, token_hash) SELECT 'bench', * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])`,
        [ids, platforms, tokens, tokens.map(tokenHash)],
      );
      await db.query(`INSERT INTO beams_device_interests (instance_id, device_id, interest) SELECT 'bench', id, 'everyone' FROM unnest($1::text[]) AS t(id)`, [ids]);
    }

    const rounds: Array<{ round: number; seconds: number; deliveriesPerSec: number; cpuUsPerDelivery: number; delivered: number; heapMb: number }> = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const finished = new Promise<void>((resolve) => service.worker.once('job-finished', () => resolve()));
      const cpu = process.cpuUsage();
      const started = performance.now();
      await service.publish(instance, {
        kind: 'interests',
        targets: ['everyone'],
        payload: { apns: { aps: { alert: { title: 'Bench', body: `round ${round}` } } }, fcm: { notification: { title: 'Bench', body: `round ${round}` } }, web: { notification: { title: 'Bench', body: `round ${round}` } } },
      });
      await finished;
      const seconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      const got = await fakes.ask({ type: 'counts' }, 'counts');
      const delivered = got.apns + got.fcm + got.web;
      if (got.errors.length > 0) throw new Error(`fakes reported errors: ${got.errors.join('; ')}`);
      if (delivered !== DEVICES) throw new Error(`round ${round}: ${delivered} of ${DEVICES} delivered`);
      rounds.push({ round, seconds, deliveriesPerSec: Math.round(delivered / seconds), cpuUsPerDelivery: Math.round((used.user + used.system) / delivered), delivered, heapMb: Math.round(process.memoryUsage().heapUsed / 1024 / 1024) });
    }
    const measured = rounds.length > 1 ? rounds.slice(1) : rounds;
    const best = Math.max(...measured.map((r) => r.deliveriesPerSec));
    const result = {
      scenario: 'beams-fanout',
      devices: DEVICES,
      mix: counts,
      concurrency: CONCURRENCY,
      pageSize: PAGE_SIZE,
      rounds,
      deliveriesPerSec: best,
      rssMb: Math.round(process.memoryUsage().rss / 1024 / 1024),
    };
    if (JSON_OUT) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else {
      process.stdout.write(`Beams fan-out: ${DEVICES} devices (apns ${counts.apns}, fcm ${counts.fcm}, web ${counts.web}), concurrency ${CONCURRENCY}, page ${PAGE_SIZE}\n`);
      for (const r of rounds) process.stdout.write(`  round ${r.round}${r.round === 1 && rounds.length > 1 ? ' (warm-up)' : ''}: ${r.seconds.toFixed(2)} s, ${r.deliveriesPerSec} deliveries/s, ${r.cpuUsPerDelivery} µs Herald CPU/delivery, JS heap ${r.heapMb} MB\n`);
      process.stdout.write(`Best: ${best} deliveries/s (Herald RSS ${result.rssMb} MB)\n`);
    }
  } finally {
    await herald.close();
    fakes.child.send({ type: 'exit' } satisfies ToChild);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`beams bench failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
