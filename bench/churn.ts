/**
 * Churn benchmark: `npm run churn -- --cycles 100000` (docs/hardening.md).
 *
 * Starts `herald start` as a child process and runs connect → subscribe (a public channel and a
 * presence channel) → disconnect cycles, --concurrency at a time. Memory is read from the server's
 * /proc/<pid>/status (VmRSS) after a forced GC (through the inspector): once at start, once after
 * --warmup cycles (the baseline: JIT code, V8 heap sizing and the embedded store are in place by
 * then) and once at the end. Leaks are looked for only through what the server exposes: the
 * Pusher HTTP API (occupied channels, presence users, channel info) and /metrics (connections,
 * channels, active handles and timers). Exits 1 when state is left behind or RSS grew more than
 * --max-growth percent (default 10) over the baseline.
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { metricSum, startChildHerald, type ChildHerald } from './hardening/child-herald.js';
import { Peer } from './hardening/peer.js';

const { values: args } = parseArgs({
  options: {
    cycles: { type: 'string', default: '100000' },
    warmup: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '50' },
    'max-growth': { type: 'string', default: '10' },
    json: { type: 'string' },
  },
});
const cycles = Number(args.cycles);
const warmup = Number(args.warmup);
const concurrency = Number(args.concurrency);
const maxGrowth = Number(args['max-growth']);
if (![cycles, warmup, concurrency, maxGrowth].every((n) => Number.isFinite(n) && n >= 0) || concurrency < 1) {
  console.error('usage: npm run churn -- [--cycles 100000] [--warmup 3000] [--concurrency 50] [--max-growth 10] [--json out.json]');
  process.exit(2);
}

const started = performance.now();
const stamp = () => `[${((performance.now() - started) / 1000).toFixed(0).padStart(5)} s]`;
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
const PRESENCE = 'presence-churn';

interface ServerState {
  occupiedChannels: string[];
  presenceUsers: number;
  presenceInfo: unknown;
  connections: number;
  channels: number;
  activeHandles: number;
  activeTimers: number;
  activeResources: number;
}

async function serverState(server: ChildHerald): Promise<ServerState> {
  const channels = await server.api<{ channels: Record<string, unknown> }>('/channels');
  const users = await server.api<{ users: unknown[] }>(`/channels/${PRESENCE}/users`);
  const presenceInfo = await server.api(`/channels/${PRESENCE}`, { info: 'user_count,subscription_count' });
  const metrics = await server.metrics();
  return {
    occupiedChannels: Object.keys(channels.channels),
    presenceUsers: users.users.length,
    presenceInfo,
    connections: metricSum(metrics, 'herald_connections'),
    channels: metricSum(metrics, 'herald_channels'),
    activeHandles: metricSum(metrics, 'herald_nodejs_active_handles_total'),
    activeTimers: metricSum(metrics, 'herald_nodejs_active_resources', 'type="Timeout"'),
    activeResources: metricSum(metrics, 'herald_nodejs_active_resources_total'),
  };
}

/** Cycles numbered [from, to): each connects, subscribes to a public and a presence channel, leaves. */
async function runCycles(server: ChildHerald, from: number, to: number, onProgress: (done: number) => void): Promise<number> {
  let next = from;
  let failures = 0;
  const worker = async () => {
    while (next < to) {
      const n = next++;
      try {
        const peer = await Peer.connect(server.wsUrl, server.app.key);
        const publicChannel = `churn-${n % 20}`;
        await Promise.all([peer.subscribe(server.app, publicChannel), peer.subscribe(server.app, PRESENCE, `user-${n % 7}`)]);
        await peer.close();
      } catch (err) {
        failures++;
        if (failures <= 10) console.log(`${stamp()} cycle ${n} failed: ${(err as Error).message}`);
      }
      if ((n + 1) % 10_000 === 0) onProgress(n + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return failures;
}

/** Waits until the server reports nothing left (disconnects are processed asynchronously). */
async function settle(server: ChildHerald): Promise<ServerState> {
  let state = await serverState(server);
  for (let i = 0; i < 50 && (state.connections > 0 || state.occupiedChannels.length > 0 || state.presenceUsers > 0); i++) {
    await new Promise((r) => setTimeout(r, 200));
    state = await serverState(server);
  }
  return state;
}

async function main(): Promise<number> {
  const server = await startChildHerald();
  try {
    const fresh = await server.collectGarbage();
    console.log(`${stamp()} herald pid ${server.pid}: RSS ${mb(fresh.rss)} MB, heap ${mb(fresh.heapUsed)} MB at start (after GC)`);
    // Opens the embedded store now (a usage flush would otherwise open it about a minute in, mid-run).
    const admin = await fetch(`${server.httpUrl}/admin/apps`, { headers: { Authorization: `Bearer ${server.adminToken}` } });
    if (admin.status !== 200) throw new Error(`GET /admin/apps → ${admin.status}`);

    let failures = await runCycles(server, 0, warmup, () => undefined);
    const warmState = await settle(server);
    const baseline = await server.collectGarbage();
    console.log(`${stamp()} after ${warmup} warm-up cycles: RSS ${mb(baseline.rss)} MB, heap ${mb(baseline.heapUsed)} MB (baseline, after GC); timers ${warmState.activeTimers}, handles ${warmState.activeHandles}`);

    const t0 = performance.now();
    const samples: Array<{ cycles: number; rssMb: number }> = [];
    failures += await runCycles(server, warmup, warmup + cycles, (done) => {
      const rss = server.rss();
      samples.push({ cycles: done - warmup, rssMb: Number(mb(rss)) });
      const rate = (done - warmup) / ((performance.now() - t0) / 1000);
      console.log(`${stamp()} ${done - warmup} cycles (${rate.toFixed(0)}/s), server RSS ${mb(rss)} MB (no GC)`);
    });
    const seconds = (performance.now() - t0) / 1000;
    const end = await settle(server);
    const after = await server.collectGarbage();
    const growth = ((after.rss - baseline.rss) / baseline.rss) * 100;

    const leaks: string[] = [];
    if (end.occupiedChannels.length) leaks.push(`occupied channels: ${end.occupiedChannels.slice(0, 10).join(', ')}`);
    if (end.presenceUsers) leaks.push(`${end.presenceUsers} presence users left in ${PRESENCE}`);
    if (JSON.stringify(end.presenceInfo) !== JSON.stringify({ occupied: false, user_count: 0, subscription_count: 0 })) leaks.push(`${PRESENCE} info ${JSON.stringify(end.presenceInfo)}`);
    if (end.connections) leaks.push(`${end.connections} connections`);
    if (end.channels) leaks.push(`${end.channels} channels in herald_channels`);
    if (end.activeTimers > warmState.activeTimers + 2) leaks.push(`active timers ${warmState.activeTimers} → ${end.activeTimers}`);
    if (end.activeHandles > warmState.activeHandles + 2) leaks.push(`active handles ${warmState.activeHandles} → ${end.activeHandles}`);

    console.log(`${stamp()} ${cycles} cycles in ${seconds.toFixed(0)} s (${(cycles / seconds).toFixed(0)} cycles/s, concurrency ${concurrency}), ${failures} failed`);
    console.log(`${stamp()} server RSS: start ${mb(fresh.rss)} MB, baseline ${mb(baseline.rss)} MB, end ${mb(after.rss)} MB (${growth >= 0 ? '+' : ''}${growth.toFixed(1)}% over baseline); heap ${mb(baseline.heapUsed)} → ${mb(after.heapUsed)} MB (all after GC)`);
    console.log(`${stamp()} state after the run: ${end.occupiedChannels.length} occupied channels, ${end.presenceUsers} presence users, ${PRESENCE} ${JSON.stringify(end.presenceInfo)}, ${end.connections} connections, timers ${warmState.activeTimers} → ${end.activeTimers}, handles ${warmState.activeHandles} → ${end.activeHandles}, resources ${warmState.activeResources} → ${end.activeResources}`);
    for (const leak of leaks) console.log(`  ! leaked: ${leak}`);
    if (args.json) writeFileSync(args.json, JSON.stringify({ cycles, warmup, concurrency, seconds, failures, fresh, baseline, after, growth, warmState, end, samples }, null, 2));
    const ok = leaks.length === 0 && failures === 0 && growth <= maxGrowth;
    console.log(`${stamp()} ${ok ? 'PASS' : 'FAIL'}${growth > maxGrowth ? ` (RSS grew more than ${maxGrowth}%)` : ''}`);
    return ok ? 0 : 1;
  } catch (err) {
    console.error(`${stamp()} churn aborted: ${(err as Error).stack}`);
    console.error(server.output().slice(-2000));
    return 1;
  } finally {
    await server.stop();
  }
}

process.exitCode = await main();
