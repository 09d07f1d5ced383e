/**
 * Building blocks shared by the scenarios: spreading clients over the generator processes,
 * running one publish phase with CPU sampling around it, and merging the generators' reports.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Histogram } from './histogram.js';
import { Publisher, type PublishPlan, type PublishResult } from './publisher.js';
import { cpuMicros, machineCpuMicros, sampleProcesses, type ProcSample } from './proc-stats.js';
import type { CollectResult, ConnectCommand, ConnectResult, ProgressReport } from './messages.js';
import type { BenchContext } from './results.js';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One signed publish before anything is measured: a server may initialise parts lazily on the
 * first API call (Herald opens its store then), which must not land inside a measured phase.
 */
export async function primeServer(ctx: BenchContext): Promise<void> {
  const publisher = new Publisher(ctx.publishTarget, 1);
  const started = performance.now();
  try {
    const result = await publisher.run({
      channels: ['bench-prime'],
      durationMs: 0,
      count: 1,
      concurrency: 1,
      phase: 0,
      payloadBytes: 60,
      requestTimeoutMs: 120_000,
    });
    if (result.failed > 0) throw new Error(`the first publish failed: ${result.firstError}`);
  } finally {
    publisher.close();
  }
  const seconds = (performance.now() - started) / 1000;
  if (seconds > 0.5) ctx.log(`the first publish took ${seconds.toFixed(1)} s (lazy initialisation in the server)`);
  await awaitEmbeddedStore(ctx);
  await waitUntilServerIdle(ctx, performance.now() + IDLE_WAIT_MS);
}

/**
 * The runner creates each Herald's embedded store before starting it (server.ts), so the store
 * is opened at start-up; this only checks that it exists (the directory has PG_VERSION) and
 * waits for the server to go idle, so no store work lands inside a measured phase.
 */
async function awaitEmbeddedStore(ctx: BenchContext): Promise<void> {
  const dirs = ctx.server.nodes.map((n) => n.embeddedDataDir).filter((d): d is string => d !== undefined);
  if (dirs.length === 0) return;
  const started = performance.now();
  const deadline = started + EMBEDDED_STORE_WAIT_MS;
  while (!dirs.every((dir) => existsSync(join(dir, 'PG_VERSION'))) && performance.now() < deadline) await sleep(100);
  if (!dirs.every((dir) => existsSync(join(dir, 'PG_VERSION')))) {
    ctx.log('the embedded store did not appear after the first publish; continuing');
    return;
  }
  await waitUntilServerIdle(ctx, performance.now() + IDLE_WAIT_MS);
  ctx.log(`waited ${((performance.now() - started) / 1000).toFixed(1)} s for the embedded store to be created and opened`);
}

/**
 * The request path warmed the way hours of traffic leave it, before a paced warm-up: a few seconds
 * of back-to-back signed publishes to channels nobody subscribes to. At 2–100 publishes a second V8
 * keeps optimizing per-request code for about a minute (`--trace-opt` on Herald in b: 53, 36, 10, 10
 * and 2 functions finished per 10 s, none after ~55 s), and that compilation runs on V8's worker
 * threads, which count as server CPU; a burst of ~20,000 requests gets it done in seconds. Every
 * server under test gets the same burst.
 */
export async function primeRequestPath(ctx: BenchContext, seconds = PRIME_BURST_S): Promise<void> {
  const publisher = new Publisher(ctx.publishTarget, PRIME_BURST_CONCURRENCY);
  try {
    const result = await publisher.run({
      channels: Array.from({ length: 10 }, (_, i) => `bench-prime-${i}`),
      durationMs: seconds * 1000,
      concurrency: PRIME_BURST_CONCURRENCY,
      phase: 0,
      payloadBytes: ctx.options.payloadBytes,
    });
    ctx.log(`request-path warm-up: ${result.published} publishes in ${seconds} s${result.failed > 0 ? `, ${result.failed} failed (${result.firstError})` : ''}`);
  } finally {
    publisher.close();
  }
  await waitUntilServerIdle(ctx, performance.now() + IDLE_WAIT_MS);
}

const PRIME_BURST_S = 3;
const PRIME_BURST_CONCURRENCY = 16;

/** Waits until the server used under 5 % of a core for half a second (its start-up work is done). */
async function waitUntilServerIdle(ctx: BenchContext, deadline: number): Promise<void> {
  let previous = serverSample(ctx);
  while (previous && performance.now() < deadline) {
    await sleep(500);
    const next = serverSample(ctx)!;
    const busy = (next.cpuMicros - previous.cpuMicros) / 1000 / (next.at - previous.at);
    previous = next;
    if (busy < 0.05) return;
  }
}

const EMBEDDED_STORE_WAIT_MS = 15_000;
const IDLE_WAIT_MS = 30_000;

export interface ConnectPlan {
  count: number;
  channels: string[];
  role: 'subscriber' | 'churner';
  /** First global client index (keeps presence user ids unique across groups). */
  firstIndex?: number;
  sourceAddresses?: string[];
  /** Handshakes in flight per generator. */
  concurrency?: number;
}

export interface ConnectSummary {
  connected: number;
  failed: number;
  firstError?: string;
  elapsedMs: number;
  setupTimes: Histogram;
}

/** Splits `count` clients into contiguous index ranges, one per generator. */
export async function connectClients(ctx: BenchContext, plan: ConnectPlan): Promise<ConnectSummary> {
  const workers = ctx.pool.size;
  const base = Math.floor(plan.count / workers);
  const firstIndex = plan.firstIndex ?? 0;
  const results = await ctx.pool.all<ConnectResult>((w) => {
    const count = base + (w < plan.count % workers ? 1 : 0);
    const first = firstIndex + w * base + Math.min(w, plan.count % workers);
    const command: ConnectCommand = {
      type: 'connect',
      urls: ctx.wsUrls,
      key: ctx.server.app.key,
      secret: ctx.server.app.secret,
      firstIndex: first,
      count,
      channels: plan.channels,
      sourceAddresses: plan.sourceAddresses ?? [],
      concurrency: plan.concurrency ?? 100,
      timeoutMs: 30_000,
      role: plan.role,
    };
    return command;
  });
  const setupTimes = new Histogram();
  for (const r of results) setupTimes.merge(Histogram.fromJSON(r.setupTimes));
  return {
    connected: results.reduce((sum, r) => sum + r.connected, 0),
    failed: results.reduce((sum, r) => sum + r.failed, 0),
    firstError: results.find((r) => r.firstError)?.firstError,
    elapsedMs: Math.max(...results.map((r) => r.elapsedMs)),
    setupTimes,
  };
}

export function serverSample(ctx: BenchContext): ProcSample | undefined {
  return ctx.serverPids.length > 0 ? sampleProcesses(ctx.serverPids) : undefined;
}

/**
 * Measures a stretch of time: server CPU, generator CPU per process, and the CPU that other
 * processes on the machine used meanwhile.
 */
export class CpuWindow {
  private readonly server0: ProcSample | undefined;
  private readonly generator0: number[];
  private readonly machine0 = machineCpuMicros();
  private readonly wall0 = performance.now();

  /** `receivers`: processes outside the pool that receive deliveries (scenario gc's C subscribers). */
  constructor(
    private readonly ctx: BenchContext,
    private readonly receivers: readonly number[] = [],
  ) {
    this.server0 = serverSample(ctx);
    this.generator0 = generatorCpuMicros(ctx, receivers);
  }

  finish(): CpuReading {
    const server1 = serverSample(this.ctx);
    const generator1 = generatorCpuMicros(this.ctx, this.receivers);
    const wallMs = performance.now() - this.wall0;
    const serverCpuMicros = this.server0 && server1 ? server1.cpuMicros - this.server0.cpuMicros : undefined;
    const generatorCpuMicrosTotal = generator1.reduce((sum, micros, i) => sum + micros - (this.generator0[i] ?? 0), 0);
    const machine1 = machineCpuMicros();
    const tasks = machine1.tasks - this.machine0.tasks;
    const other = serverCpuMicros === undefined ? undefined : Math.max(0, tasks - serverCpuMicros - generatorCpuMicrosTotal);
    const percent = (micros: number) => (micros / 1000 / wallMs) * 100;
    const serverSystemMicros = this.server0 && server1 ? server1.systemMicros - this.server0.systemMicros : undefined;
    return {
      serverCpuMicros,
      serverSystemShare: serverCpuMicros && serverSystemMicros !== undefined ? serverSystemMicros / serverCpuMicros : undefined,
      generatorCpuPercents: generatorCpuPercents(this.generator0, generator1, wallMs),
      otherCpuPercent: other === undefined ? undefined : percent(other),
      interruptCpuPercent: percent(machine1.interrupts - this.machine0.interrupts),
      wallMs,
      serverAfter: server1,
    };
  }
}

export interface CpuReading {
  /** Server CPU (µs) over the window. */
  serverCpuMicros: number | undefined;
  /** Fraction of that spent in the kernel. */
  serverSystemShare: number | undefined;
  /** Runner, then each generator: % of one core over the window. */
  generatorCpuPercents: number[];
  /** CPU used by everything else on the machine, % of one core (undefined for a remote/unknown server). */
  otherCpuPercent: number | undefined;
  /** Kernel interrupt/softirq time charged to no process (see machineCpuMicros), % of one core. */
  interruptCpuPercent: number;
  wallMs: number;
  serverAfter: ProcSample | undefined;
}

/** CPU of the load generator: this runner first, then every generator process, then `receivers`. */
export function generatorCpuMicros(ctx: BenchContext, receivers: readonly number[] = []): number[] {
  return [process.pid, ...ctx.pool.pids, ...receivers].map((pid) => cpuMicros(pid));
}

/** Per-process CPU between two `generatorCpuMicros` readings, % of one core. */
export function generatorCpuPercents(before: number[], after: number[], wallMs: number): number[] {
  return after.map((micros, i) => ((micros - (before[i] ?? 0)) / 1000 / wallMs) * 100);
}

/** The generators' reports added up; the latency histograms merged into one. */
export type MergedCollect = Omit<CollectResult, 'latency'> & { latency: Histogram };

export function mergeCollects(results: CollectResult[]): MergedCollect {
  const latency = new Histogram();
  for (const r of results) latency.merge(Histogram.fromJSON(r.latency));
  const sum = (pick: (r: CollectResult) => number) => results.reduce((total, r) => total + pick(r), 0);
  return {
    deliveries: sum((r) => r.deliveries),
    memberEvents: sum((r) => r.memberEvents),
    latency,
    lost: sum((r) => r.lost),
    reordered: sum((r) => r.reordered),
    duplicates: sum((r) => r.duplicates),
    stale: sum((r) => r.stale),
    protocolErrors: sum((r) => r.protocolErrors),
    firstProtocolError: results.find((r) => r.firstProtocolError)?.firstProtocolError,
    unexpectedCloses: sum((r) => r.unexpectedCloses),
    openClients: sum((r) => r.openClients),
  };
}

/** CPU figures cover the start of publishing until every delivery arrived. */
export interface PhaseResult extends CpuReading {
  publish: PublishResult;
  collected: MergedCollect;
}

export interface PhaseOptions {
  /** Closed loop: at most this many events per channel published but not yet received by all. */
  saturationWindow?: number;
  /** Runs alongside publishing (presence churn). */
  alongside?: () => Promise<unknown>;
  drainTimeoutMs?: number;
}

/**
 * One publish phase: reset the generators' counters to `plan.phase`, publish from this process,
 * then wait for the stragglers and collect latency/loss. CPU is sampled around the whole phase.
 */
export async function runPublishPhase(ctx: BenchContext, plan: PublishPlan, options: PhaseOptions = {}): Promise<PhaseResult> {
  const publisher = new Publisher(ctx.publishTarget, plan.concurrency);
  await ctx.pool.all(() => ({ type: 'reset', phase: plan.phase }));
  if (options.saturationWindow !== undefined) installSaturationGate(ctx, publisher, plan, options.saturationWindow);
  const window = new CpuWindow(ctx);
  try {
    const [publish] = await Promise.all([publisher.run(plan), options.alongside?.()]);
    if (options.saturationWindow !== undefined) {
      ctx.pool.onProgress(undefined);
      await ctx.pool.all(() => ({ type: 'progress', intervalMs: 0 }));
    }
    const collects = await ctx.pool.all<CollectResult>(() => ({
      type: 'collect',
      lastSeq: publish.lastSeq,
      drainTimeoutMs: options.drainTimeoutMs ?? 10_000,
    }));
    return { publish, collected: mergeCollects(collects), ...window.finish() };
  } finally {
    publisher.close();
  }
}

function installSaturationGate(ctx: BenchContext, publisher: Publisher, plan: PublishPlan, window: number): void {
  const minSeqByWorker: Array<Record<string, number>> = [];
  ctx.pool.onProgress((worker, report: ProgressReport) => {
    minSeqByWorker[worker] = report.minSeq;
    publisher.poke();
  });
  publisher.setGate(() => {
    for (const channel of plan.channels) {
      let delivered = Infinity;
      for (const reported of minSeqByWorker) {
        const seq = reported?.[channel];
        if (seq !== undefined && seq < delivered) delivered = seq;
      }
      if (delivered === Infinity) delivered = 0; // no report yet
      if ((publisher.sentSeq[channel] ?? 0) - delivered >= window) return false;
    }
    return true;
  });
  void ctx.pool.all(() => ({ type: 'progress', intervalMs: 5 }));
}
