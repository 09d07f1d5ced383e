/** Helpers shared by the scenario definitions. */
import type { CpuReading, PhaseResult } from '../measure.js';
import type { ProcSample } from '../proc-stats.js';
import type { BenchContext, ScenarioResult, TargetCheck } from '../results.js';

export const MB = 1024 * 1024;

/** Two decimals, for the figures shown under the table. */
export function round(value: number): number {
  return Math.round(value * 100) / 100;
}

export interface ScenarioDefinition {
  id: string;
  title: string;
  /** Measured seconds unless --duration overrides. */
  defaultDurationS: number;
  /** Included when no --scenario is given. */
  standard: boolean;
  /** Run once per --server-workers entry (compares 1 and N Herald workers in one run). */
  perWorkerCount?: boolean;
  /** false: the scenario brings its own receivers, so no generator processes are started. */
  usesGeneratorPool?: boolean;
  /** Start the server with the inspector so memory readings can follow a forced GC. */
  inspect?: boolean;
  run(ctx: BenchContext, durationS: number): Promise<ScenarioResult>;
}

export function channelNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

/** Fills the delivery figures of a measured publish phase into `result`. */
export function applyDeliveryPhase(result: ScenarioResult, phase: PhaseResult): void {
  const { publish, collected } = phase;
  const seconds = publish.elapsedMs / 1000;
  const deliveries = collected.deliveries + collected.memberEvents;
  result.durationS = seconds;
  result.deliveriesPerSec = deliveries / seconds;
  result.publishesPerSec = publish.published / seconds;
  applyOutcome(result, phase, 'delivery');
  applyCpu(result, phase);
  if (phase.serverCpuMicros !== undefined) {
    // Server CPU is split over deliveries; the publishes' own share is part of that figure.
    if (deliveries > 0) result.cpuPerDeliveryUs = phase.serverCpuMicros / deliveries;
  }
  // Per-connection memory is left to the memory scenarios (d, huge), which force a GC first;
  // here it would mostly show when V8 collected start-up garbage.
  if (phase.serverAfter) result.rssMb = phase.serverAfter.rssBytes / MB;
  if (publish.lateSends > 0) result.notes.push(`publisher fell behind its schedule ${publish.lateSends} times`);
  if (collected.stale > 0) result.extra['late warm-up deliveries (ignored)'] = collected.stale;
}

/** Latency, loss, ordering and error figures of a publish phase, with notes for failures. */
export function applyOutcome(result: ScenarioResult, phase: PhaseResult, latencyKind: ScenarioResult['latencyKind']): void {
  const { publish, collected } = phase;
  result.latency = collected.latency.summary();
  result.latencyKind = latencyKind;
  result.lost = collected.lost;
  result.publishErrors = publish.failed;
  result.reordered = collected.reordered;
  result.duplicates = collected.duplicates;
  result.protocolErrors = collected.protocolErrors;
  result.unexpectedCloses = collected.unexpectedCloses;
  if (publish.failed > 0) result.notes.push(`${publish.failed} publishes failed, first: ${publish.firstError}`);
  if (collected.firstProtocolError) result.notes.push(`protocol error seen by a client: ${collected.firstProtocolError}`);
}

export function applyMemory(result: ScenarioResult, now: ProcSample | undefined, idle: ProcSample | undefined, connections: number): void {
  if (!now) return;
  result.rssMb = now.rssBytes / MB;
  if (idle && connections > 0) result.rssPer1kConnectionsMb = ((now.rssBytes - idle.rssBytes) / MB / connections) * 1000;
}

export function atMost(label: string, value: number | undefined, limit: number): TargetCheck {
  return { label, met: value === undefined ? undefined : value <= limit };
}

export function atLeast(label: string, value: number | undefined, limit: number): TargetCheck {
  return { label, met: value === undefined ? undefined : value >= limit };
}

export function noLoss(result: ScenarioResult): TargetCheck {
  return {
    label: 'lost = 0, no duplicates',
    met: result.lost === undefined ? undefined : result.lost === 0 && !result.duplicates,
  };
}

export function reportConnectFailures(result: ScenarioResult, wanted: number, connected: number, firstError?: string): void {
  if (connected < wanted) result.notes.push(`only ${connected} of ${wanted} clients connected and subscribed; first error: ${firstError}`);
}

/** Share of a core above which other processes are said to have disturbed the run. */
const BUSY_MACHINE_PERCENT = 25;

export function applyCpu(result: ScenarioResult, cpu: CpuReading): void {
  const percents = cpu.generatorCpuPercents;
  result.generatorCpuPercent = percents.reduce((sum, p) => sum + p, 0);
  result.generatorCpuSplit = percents;
  result.otherCpuPercent = cpu.otherCpuPercent;
  result.interruptCpuPercent = cpu.interruptCpuPercent;
  result.serverSystemShare = cpu.serverSystemShare;
  if (cpu.serverCpuMicros !== undefined) result.serverCpuPercent = (cpu.serverCpuMicros / 1000 / cpu.wallMs) * 100;
  if (cpu.otherCpuPercent !== undefined && cpu.otherCpuPercent > BUSY_MACHINE_PERCENT) {
    result.notes.push(
      `other processes used ${cpu.otherCpuPercent.toFixed(0)} % of a core meanwhile: latency and throughput are disturbed (CPU per delivery/publish much less so)`,
    );
  }
}

/**
 * Warm-up before a paced scenario (a, b, f, g: 2–100 publishes a second). After 2 s at such rates
 * V8 still runs the per-request code (HTTP parsing, the signature check, routing, the publish) in
 * its baseline tier, so the measured phase saw start-up code rather than what a server running for
 * hours runs: in b, Herald's CPU per delivery was ~18 µs after 2 s and ~14 µs after 20 s, while the
 * floor's (less JavaScript per request) barely moved (docs/benchmarks.md, 5 December 2026, session 8).
 */
export const PACED_WARMUP_S = 20;
/** Saturated scenarios (c, e) run thousands of publishes a second: 2 s is past the tier-up. */
export const SATURATED_WARMUP_S = 2;

/** `--warmup` when given, else the scenario kind's default. */
export function warmupSeconds(ctx: BenchContext, paced: boolean): number {
  return ctx.options.warmupS ?? (paced ? PACED_WARMUP_S : SATURATED_WARMUP_S);
}
