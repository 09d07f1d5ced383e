/**
 * Memory scenarios.
 *  d) 10,000 idle subscribed connections: server RSS above the idle server, per connection.
 *  huge (optional) 100,000 subscribed connections from several 127.0.0.x source addresses, then
 *     broadcasts that must reach every one of them: memory, connect time, broadcast time.
 * Both finish with broadcasts so "connected" is proven by deliveries, not assumed.
 */
import { connectClients, runPublishPhase, serverSample, sleep } from '../measure.js';
import { InspectorSession } from '../inspector.js';
import { openDescriptors, type ProcSample } from '../proc-stats.js';
import { emptyResult, type BenchContext, type ScenarioResult } from '../results.js';
import { applyMemory, applyOutcome, atMost, channelNames, noLoss, reportConnectFailures, MB, type ScenarioDefinition } from './common.js';

/** Connections per 127.0.0.x source address: below the ~28,000 ephemeral ports of one address. */
export const CONNECTIONS_PER_SOURCE_ADDRESS = 20_000;
const SETTLE_MS = 3000;
const PROGRESS_INTERVAL_MS = 15_000;

export function sourceAddressesFor(connections: number): string[] {
  if (connections <= CONNECTIONS_PER_SOURCE_ADDRESS) return [];
  const count = Math.ceil(connections / CONNECTIONS_PER_SOURCE_ADDRESS);
  return Array.from({ length: count }, (_, i) => `127.0.0.${i + 2}`);
}

interface MemorySpec {
  id: string;
  title: string;
  connections: number;
  channels: number;
  /** Broadcasts after the memory reading (one event per channel each). */
  broadcasts: number;
  broadcastIntervalS: number;
  connectConcurrency: number;
}

interface MemoryReading {
  sample: ProcSample | undefined;
  /** V8 heap in use over all nodes, bytes (undefined without the inspector). */
  heapUsedBytes: number | undefined;
}

/** Forces a full GC in every server node (when its inspector is open), then reads RSS and heap. */
async function readMemory(ctx: BenchContext): Promise<MemoryReading> {
  let heapUsedBytes: number | undefined;
  for (const node of ctx.server.nodes) {
    if (node.inspectPort === undefined) continue;
    try {
      const session = await InspectorSession.open(node.host, node.inspectPort);
      try {
        await session.collectGarbage();
        heapUsedBytes = (heapUsedBytes ?? 0) + (await session.heapUsage()).usedBytes;
      } finally {
        session.close();
      }
    } catch (error) {
      ctx.log(`could not force GC through the inspector: ${(error as Error).message}`);
    }
  }
  // RSS keeps moving for a while after start-up and after a GC (freed pages, the embedded store's
  // WebAssembly memory): wait until two readings a second apart agree within 1 MB (at most 10 s).
  let sample = serverSample(ctx);
  for (let i = 0; i < 10 && sample; i++) {
    await sleep(1000);
    const next = serverSample(ctx)!;
    const settled = Math.abs(next.rssBytes - sample.rssBytes) < MB;
    sample = next;
    if (settled) break;
  }
  return { sample, heapUsedBytes };
}

async function runMemory(ctx: BenchContext, spec: MemorySpec): Promise<ScenarioResult> {
  const result = emptyResult(spec.id, spec.title, spec.connections);
  const channels = channelNames(`idle-${spec.id}`, spec.channels);
  const idleMemory = await readMemory(ctx);
  const idle = idleMemory.sample;
  const sourceAddresses = sourceAddressesFor(spec.connections);
  ctx.log(
    `connecting ${spec.connections} subscribers over ${spec.channels} channel(s), ${ctx.wsUrls.length} server node(s)` +
      (sourceAddresses.length > 0 ? `, from ${sourceAddresses.join(' ')}` : '') +
      '…',
  );
  const connect0 = serverSample(ctx);
  const progress = setInterval(() => {
    const open = ctx.serverPids.reduce((sum, pid) => sum + openDescriptors(pid), 0);
    if (open > 0) ctx.log(`  … about ${open.toLocaleString('en-US')} server sockets open`);
  }, PROGRESS_INTERVAL_MS);
  const connected = await ctx.profiled(() =>
    connectClients(ctx, {
      count: spec.connections,
      channels,
      role: 'subscriber',
      sourceAddresses,
      concurrency: spec.connectConcurrency,
    }),
  );
  clearInterval(progress);
  const connect1 = serverSample(ctx);
  reportConnectFailures(result, spec.connections, connected.connected, connected.firstError);
  result.connections = connected.connected;
  const setup = connected.setupTimes.summary();
  result.extra['connect+subscribe time, all clients (s)'] = Math.round(connected.elapsedMs / 100) / 10;
  result.extra['connections/s'] = Math.round(connected.connected / (connected.elapsedMs / 1000));
  result.extra['connect+subscribe p50/p99 (ms)'] = `${setup.p50.toFixed(1)} / ${setup.p99.toFixed(1)}`;
  if (connect0 && connect1 && connected.connected > 0) {
    result.extra['server CPU per connect+subscribe (µs)'] = Math.round((connect1.cpuMicros - connect0.cpuMicros) / connected.connected);
  }

  ctx.log(`connected ${connected.connected}; settling ${SETTLE_MS / 1000} s before reading memory…`);
  const idle0 = serverSample(ctx);
  await sleep(SETTLE_MS);
  const idle1 = serverSample(ctx);
  if (idle0 && idle1) {
    // Timers per connection or periodic sweeps show up here.
    result.extra['server CPU with all connections idle (% of a core)'] =
      Math.round(((idle1.cpuMicros - idle0.cpuMicros) / 1000 / (idle1.at - idle0.at)) * 1000) / 10;
  }
  const settledMemory = await readMemory(ctx);
  const settled = settledMemory.sample;
  applyMemory(result, settled, idle, connected.connected);
  if (idle && settled) {
    result.extra['server RSS idle → connected (MB)'] = `${(idle.rssBytes / MB).toFixed(1)} → ${(settled.rssBytes / MB).toFixed(1)}`;
  }
  if (idleMemory.heapUsedBytes !== undefined && settledMemory.heapUsedBytes !== undefined && connected.connected > 0) {
    const heapDelta = settledMemory.heapUsedBytes - idleMemory.heapUsedBytes;
    result.extra['V8 heap idle → connected (MB)'] =
      `${(idleMemory.heapUsedBytes / MB).toFixed(1)} → ${(settledMemory.heapUsedBytes / MB).toFixed(1)}`;
    result.extra['V8 heap per connection (KB)'] = Math.round((heapDelta / 1024 / connected.connected) * 100) / 100;
  } else {
    result.notes.push('memory read without a forced GC (no inspector): the per-connection figure is noisier');
  }
  if (!ctx.options.databaseUrl && ctx.options.targets.length === 0 && !ctx.options.reference) {
    result.notes.push(
      'server used the embedded store, whose WebAssembly memory moves RSS by tens of MB on its own; ' +
        'the V8 heap figure is the stable one (or run with --database-url for a clean RSS reading)',
    );
  }

  ctx.log(`broadcasting ${spec.broadcasts} event(s) to every channel…`);
  const phase = await runPublishPhase(
    ctx,
    {
      channels,
      // One event per channel per broadcast, spread over `broadcastIntervalS`.
      durationMs: spec.broadcasts * spec.broadcastIntervalS * 1000,
      count: spec.broadcasts * spec.channels,
      rate: spec.channels / spec.broadcastIntervalS,
      concurrency: 16,
      phase: 1,
      payloadBytes: ctx.options.payloadBytes,
    },
    { drainTimeoutMs: 60_000 },
  );
  applyOutcome(result, phase, 'broadcast');
  result.extra['broadcast deliveries'] = phase.collected.deliveries;
  return result;
}

export const scenarioD: ScenarioDefinition = {
  id: 'd',
  title: '10,000 idle subscribed connections (memory)',
  defaultDurationS: 0,
  standard: true,
  inspect: true,
  run: async (ctx) => {
    const result = await runMemory(ctx, {
      id: 'd',
      title: scenarioD.title,
      connections: 10_000,
      channels: 100,
      broadcasts: 1,
      broadcastIntervalS: 1,
      connectConcurrency: 100,
    });
    // Issue 18 item 4: no regression past 3.3 KB per subscribed connection at 10,000.
    result.targets = [atMost('≤ 3.3 KB RSS/connection above idle', result.rssPer1kConnectionsMb, 3.3), noLoss(result)];
    return result;
  },
};

export const scenarioHuge: ScenarioDefinition = {
  id: 'huge',
  title: '100,000 subscribed connections, broadcast to all',
  defaultDurationS: 0,
  standard: false,
  inspect: true,
  run: async (ctx) => {
    const connections = ctx.options.hugeConnections;
    const result = await runMemory(ctx, {
      id: 'huge',
      title: `${connections.toLocaleString('en-US')} subscribed connections, broadcast to all`,
      connections,
      channels: 1,
      broadcasts: 3,
      broadcastIntervalS: 5,
      connectConcurrency: 200,
    });
    result.extra['server nodes'] = ctx.wsUrls.length;
    result.extra['generator processes'] = ctx.pool.size;
    result.targets = [noLoss(result)];
    return result;
  },
};
