/**
 * idle) Resident memory of an idle node, before and after its embedded store opens.
 *
 * A fresh Herald opens its store (PGlite, in a worker thread) only at the first usage flush about
 * a minute into traffic, and the store is by far the largest share of an idle node's memory. The
 * runner's server was started on an existing store (opened at start-up), has had one publish and
 * is read after 22 s without traffic (usage flushes every 5 s meanwhile): the "store open" figure. A second Herald
 * on an empty data directory, after one publish as well, gives the "before" figure. No inspector
 * and no forced GC: the RSS a user's `ps` shows, once two readings a second apart agree within 1 MB.
 */
import { Publisher } from '../publisher.js';
import { rssBytes } from '../proc-stats.js';
import { launchHerald } from '../server.js';
import { sleep } from '../measure.js';
import { emptyResult, type BenchContext, type ScenarioResult } from '../results.js';
import { atMost, MB, type ScenarioDefinition } from './common.js';

/**
 * Quiet time before the reading: longer than Herald's usage flush interval (5 s), so the reading
 * follows a flush, and than two of its idle-compaction checks (10 s each, src/server/idle-compaction.ts),
 * so a node that has just gone idle has had the chance to give its young generation back.
 */
const IDLE_WAIT_MS = 22_000;
const TARGET_MB = 150;

/** RSS of a node: its process, plus its workers' when it has several (`herald start --workers N`). */
function nodeRss(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + rssBytes(pid), 0);
}

async function settledRss(pids: number[]): Promise<number> {
  let rss = nodeRss(pids);
  for (let i = 0; i < 15; i++) {
    await sleep(1000);
    const next = nodeRss(pids);
    const settled = Math.abs(next - rss) < MB;
    rss = next;
    if (settled) break;
  }
  return rss / MB;
}

async function publishOnce(host: string, port: number, ctx: BenchContext): Promise<void> {
  const publisher = new Publisher({ host, port, app: ctx.publishTarget.app }, 1);
  try {
    const result = await publisher.run({ channels: ['bench-idle'], durationMs: 0, count: 1, concurrency: 1, phase: 0, payloadBytes: 60, requestTimeoutMs: 60_000 });
    if (result.failed > 0) throw new Error(`publish failed: ${result.firstError}`);
  } finally {
    publisher.close();
  }
}

/** A second Herald on an empty data directory: the node before its store opens. */
async function rssBeforeStoreOpens(ctx: BenchContext, workers: number): Promise<number> {
  const { options } = ctx;
  const server = await launchHerald({
    root: options.root,
    app: ctx.publishTarget.app,
    nodes: 1,
    workers,
    nodeArgs: options.serverNodeArgs,
    env: {},
    inspect: false,
    log: ctx.log,
    compiled: options.compiled,
    freshStore: true,
  });
  try {
    const node = server.nodes[0]!;
    await publishOnce(node.host, node.port, ctx);
    await sleep(IDLE_WAIT_MS);
    return await settledRss([node.pid!, ...(node.workerPids ?? [])]);
  } finally {
    await server.stop();
  }
}

async function runIdle(ctx: BenchContext): Promise<ScenarioResult> {
  const result = emptyResult('idle', scenarioIdle.title, 0);
  if (ctx.serverPids.length === 0 || ctx.server.nodes.length !== 1) {
    result.notes.push('idle memory needs exactly one server node with a known pid');
    return result;
  }
  // A multi-worker node is its supervisor plus its workers: their RSS summed, as `ps` users add
  // them up (shared code pages count once per process, so this is an upper bound).
  const workers = (ctx.server.nodes[0]!.workerPids ?? []).length || 1;
  await sleep(IDLE_WAIT_MS);
  const open = await settledRss(ctx.serverPids);
  result.rssMb = open;
  const herald = ctx.server.kind === 'herald';
  const embedded = herald && ctx.options.databaseUrl === undefined;
  if (embedded) {
    result.extra['idle RSS, store open, after a usage flush (MB)'] = open.toFixed(0);
    ctx.log('idle: a second Herald on an empty data directory, for the RSS before the store opens…');
    const before = await rssBeforeStoreOpens(ctx, workers);
    result.extra['idle RSS before the store opens (MB)'] = before.toFixed(0);
    result.extra['the embedded store costs (MB)'] = (open - before).toFixed(0);
    // The target is for a one-worker node; a multi-worker node's figure is reported only.
    if (workers === 1) result.targets.push(atMost(`idle RSS with the embedded store open ≤ ${TARGET_MB} MB`, open, TARGET_MB));
  } else {
    result.extra['idle RSS (MB)'] = open.toFixed(0);
    if (herald) result.notes.push('--database-url: no embedded store, so no before/after figure');
  }
  return result;
}

export const scenarioIdle: ScenarioDefinition = {
  id: 'idle',
  title: 'idle node: RSS before and after the embedded store opens',
  defaultDurationS: 0,
  standard: true,
  perWorkerCount: true,
  run: (ctx) => runIdle(ctx),
};
