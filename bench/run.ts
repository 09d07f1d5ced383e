/**
 * Herald benchmark: `npm run bench -- [--scenario a,b,…] [--duration S] [--json out.json]`.
 *
 * For each scenario it starts a fresh Herald as a separate process (or the reference floor server
 * with --reference, or uses --target), starts the
 * load generator processes, runs the scenario and prints one table. Server CPU and memory come
 * from /proc/<server pid>, so the figures are the server's own even though the generator shares
 * the machine. Targets are reported, never asserted: the exit code is non-zero only when a
 * scenario could not run at all.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HelpRequested, parseArgs, USAGE } from './lib/args.js';
import { renderHotFunctions, topSelfTime, type HotFunction } from './lib/cpu-profile.js';
import { InspectorSession } from './lib/inspector.js';
import { primeServer } from './lib/measure.js';
import { WorkerPool } from './lib/pool.js';
import { renderDetails, renderTable, renderWorkerComparison } from './lib/report.js';
import { emptyResult, type BenchContext, type RunOptions, type ScenarioResult } from './lib/results.js';
import { buildCompiled, externalServer, launchHerald, stopAllServers, type ServerKind, type ServerUnderTest } from './lib/server.js';
import { effectiveOpenFilesLimit } from './lib/spawn.js';
import type { ScenarioDefinition } from './lib/scenarios/common.js';
import { scenarioA, scenarioB, scenarioE, scenarioG } from './lib/scenarios/fanout.js';
import { scenarioGc, scenarioGk } from './lib/scenarios/c-subscribers.js';
import { scenarioC } from './lib/scenarios/publish-only.js';
import { scenarioD, scenarioHuge } from './lib/scenarios/memory.js';
import { scenarioF } from './lib/scenarios/presence.js';
import { scenarioIdle } from './lib/scenarios/idle.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SCENARIOS: Record<string, ScenarioDefinition> = Object.fromEntries(
  [scenarioA, scenarioB, scenarioC, scenarioD, scenarioE, scenarioF, scenarioG, scenarioGc, scenarioGk, scenarioIdle, scenarioHuge].map((s) => [s.id, s]),
);
/** The scenario named `id`; parseArgs already rejected unknown names, so a miss here is a bug. */
function scenarioNamed(id: string): ScenarioDefinition {
  const definition = SCENARIOS[id];
  if (definition === undefined) throw new Error(`Unknown scenario ${id}`);
  return definition;
}
/** Descriptors a server node or generator keeps for itself (files, listeners, the store). */
const FD_HEADROOM = 1024;

const started = performance.now();
function log(line: string): void {
  console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] ${line}`);
}

interface Topology {
  nodes: number;
  workers: number;
  env: Record<string, string>;
}

/** huge needs more descriptors than one process may hold here: spread over nodes and generators. */
function topologyFor(definition: ScenarioDefinition, options: RunOptions): Topology {
  const id = definition.id;
  if (id !== 'huge') return { nodes: 1, workers: definition.usesGeneratorPool === false ? 0 : options.workers, env: {} };
  const limit = effectiveOpenFilesLimit();
  const perProcess = Math.max(1000, limit - FD_HEADROOM);
  const needed = Math.ceil(options.hugeConnections / perProcess);
  const nodes = options.hugeNodes || needed;
  const workers = Math.max(options.workers, needed);
  log(
    `open-files limit per process: ${limit}; ${options.hugeConnections} connections → ${nodes} server node(s), ${workers} generator(s)`,
  );
  if (nodes > 1) log('several server nodes share subscriptions through HERALD_BROKER=redis (127.0.0.1:6379)');
  return { nodes, workers, env: nodes > 1 ? { HERALD_BROKER: 'redis' } : {} };
}

async function runScenario(definition: ScenarioDefinition, options: RunOptions, serverWorkers: number): Promise<ScenarioResult> {
  const durationS = options.durationS ?? definition.defaultDurationS;
  const topology = topologyFor(definition, options);
  const app = { id: options.appId, key: options.appKey, secret: options.appSecret };
  let server: ServerUnderTest;
  if (options.targets.length > 0) {
    server = externalServer(options.targets, options.serverPids, app);
  } else {
    server = await launchHerald({
      root: ROOT,
      app,
      nodes: topology.nodes,
      nodeArgs: options.serverNodeArgs,
      env: options.databaseUrl ? { ...topology.env, HERALD_DATABASE_URL: options.databaseUrl } : topology.env,
      inspect: options.profile || (definition.inspect ?? false),
      log,
      reference: options.reference,
      workers: serverWorkers,
      compiled: options.compiled,
    });
    log(`${options.reference ? 'REFERENCE FLOOR server (not Herald)' : 'Herald'} started: ${server.nodes.map((n) => `127.0.0.1:${n.port} (pid ${n.pid})`).join(', ')}`);
  }
  let pool: WorkerPool | undefined;
  const hotFunctions: HotFunction[][] = [];
  try {
    // Events are published through the first node (launchHerald starts one at least; --target names one).
    const [publishNode] = server.nodes;
    if (publishNode === undefined) throw new Error('the server under test has no nodes');
    pool = await WorkerPool.start(topology.workers, ROOT);
    const ctx: BenchContext = {
      options,
      server,
      pool,
      wsUrls: server.nodes.map((n) => `ws://${n.host}:${n.port}/app/${app.key}?protocol=7&client=bench&version=1`),
      publishTarget: { host: publishNode.host, port: publishNode.port, app },
      // A multi-worker node's CPU and memory are its supervisor's plus its workers'.
      serverPids: server.nodes.flatMap((n) => [n.pid, ...(n.workerPids ?? [])]).filter((pid): pid is number => pid !== undefined),
      log,
      profiled: (measure) => (options.profile ? profileWhile(server, definition.id, measure, hotFunctions) : measure()),
    };
    if (ctx.serverPids.length === 0) log('no server pid: CPU and memory columns stay empty (use --server-pid)');
    await primeServer(ctx);
    const result = await definition.run(ctx, durationS);
    if (hotFunctions.length > 0) result.hotFunctions = hotFunctions[0];
    return result;
  } finally {
    await pool?.stop();
    await server.stop();
  }
}

/**
 * Profiles the server nodes (through their inspector) only while `measure` runs, so start-up and
 * connection set-up do not dilute the picture; saves each profile for Chrome DevTools.
 */
async function profileWhile<T>(server: ServerUnderTest, id: string, measure: () => Promise<T>, hot: HotFunction[][]): Promise<T> {
  const sessions: Array<{ node: number; session: InspectorSession }> = [];
  for (const [index, node] of server.nodes.entries()) {
    if (node.inspectPort === undefined) continue;
    const session = await InspectorSession.open(node.host, node.inspectPort);
    await session.startProfiler();
    sessions.push({ node: index, session });
  }
  if (sessions.length === 0) log('--profile: no server inspector to profile through (external target?)');
  try {
    return await measure();
  } finally {
    const dir = sessions.length > 0 ? mkdtempSync(join(tmpdir(), `herald-prof-${id}-`)) : '';
    for (const { node, session } of sessions) {
      try {
        const profile = await session.stopProfiler();
        const file = join(dir, `server-${node}.cpuprofile`);
        writeFileSync(file, JSON.stringify(profile));
        const top = topSelfTime(profile, ROOT);
        hot.push(top);
        log(`server ${node} CPU profile of the measured phase: ${file} (open in Chrome DevTools); top self time:\n${renderHotFunctions(top)}`);
      } catch (error) {
        log(`could not collect the CPU profile of server ${node}: ${(error as Error).message}`);
      } finally {
        session.close();
      }
    }
  }
}

function serverKindOf(options: RunOptions): ServerKind {
  return options.reference ? 'reference floor' : options.targets.length > 0 ? 'external' : 'herald';
}

/** Printed above the table so a floor run can never be mistaken for Herald's figures. */
function serverLine(kind: ServerKind): string {
  if (kind === 'reference floor') {
    return 'Server under test: REFERENCE FLOOR (bench/reference/floor-server.ts), NOT Herald — a floor measurement for comparison';
  }
  return kind === 'external' ? 'Server under test: external (--target)' : 'Server under test: Herald';
}

async function main(): Promise<number> {
  let options: RunOptions;
  try {
    options = parseArgs(process.argv.slice(2), ROOT);
  } catch (error) {
    if (error instanceof HelpRequested) {
      console.log(USAGE);
      return 0;
    }
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const serverKind = serverKindOf(options);
  if (!options.reference && options.targets.length === 0) buildCompiled(options.root, log);
  log(`server under test: ${serverKind}${options.reference ? (options.compiled ? ' (compiled)' : ' (through tsx)') : ' (dist/)'}; scenarios ${options.scenarios.join(', ')}; ${options.workers} generator process(es); Node ${process.version}`);
  const results: ScenarioResult[] = [];
  let crashed = 0;
  const runs = options.scenarios.flatMap((id) =>
    (scenarioNamed(id).perWorkerCount ? options.serverWorkers : options.serverWorkers.slice(0, 1)).map((workers) => ({ id, workers })),
  );
  for (const { id: scenarioId, workers } of runs) {
    const definition = scenarioNamed(scenarioId);
    const id = workers > 1 ? `${scenarioId}×${workers}w` : scenarioId;
    log(`── scenario ${id}: ${definition.title}${workers > 1 ? ` (Herald with ${workers} workers)` : ''}`);
    try {
      const result = await runScenario(definition, options, workers);
      if (workers > 1) {
        result.id = id;
        result.title = `${result.title} — ${workers} workers`;
      }
      results.push(result);
      log(`── ${id} done: ${result.lost ?? 0} lost, targets ${result.targets.map((t) => (t.met ? '✓' : t.met === false ? '✗' : '?')).join('')}`);
    } catch (error) {
      crashed++;
      const failed = emptyResult(id, definition.title, 0);
      failed.notes.push(`scenario failed: ${(error as Error).stack ?? error}`);
      results.push(failed);
      log(`── ${id} FAILED: ${(error as Error).message}`);
    }
  }
  const comparison = renderWorkerComparison(results);
  console.log(`\n${serverLine(serverKind)}\n\n${renderTable(results)}\n\n${renderDetails(results)}\n${comparison ? `\n${comparison}\n` : ''}`);
  if (options.jsonPath) {
    writeFileSync(options.jsonPath, JSON.stringify({ server: serverKind, compiled: options.compiled, node: process.version, date: new Date().toISOString(), options, results }, null, 2));
    log(`results written to ${options.jsonPath}`);
  }
  return crashed > 0 ? 1 : 0;
}

// Ctrl-C: the generators and servers get the signal too (same process group) and stop by
// themselves; only the temporary store directories need removing.
let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  log('interrupted: stopping the server(s) and generators…');
  void stopAllServers().finally(() => process.exit(130));
});

process.exitCode = await main();
