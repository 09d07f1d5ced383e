/** What a scenario reports, and the context every scenario runs in. */
import type { LatencySummary } from './histogram.js';
import type { WorkerPool } from './pool.js';
import type { PublishTarget } from './publisher.js';
import type { ServerUnderTest } from './server.js';

export interface TargetCheck {
  /** e.g. "CPU/delivery ≤ 2 µs". */
  label: string;
  /** undefined when the figure could not be measured (e.g. no server pid for CPU). */
  met: boolean | undefined;
}

export interface ScenarioResult {
  id: string;
  title: string;
  connections: number;
  /** Length of the measured phase in seconds. */
  durationS?: number;
  deliveriesPerSec?: number;
  publishesPerSec?: number;
  /** Milliseconds. Delivery latency (publish → client) or, for scenario c, HTTP response time. */
  latency?: LatencySummary;
  latencyKind?: 'delivery' | 'http-response' | 'broadcast';
  cpuPerDeliveryUs?: number;
  cpuPerPublishUs?: number;
  /** Server CPU over the measured phase, % of one core. */
  serverCpuPercent?: number;
  /** Share of the server's CPU spent in the kernel (system time), 0–1. */
  serverSystemShare?: number;
  /** Load generator CPU (runner + generators), % of one core: near 100 × processes = generator-bound. */
  generatorCpuPercent?: number;
  /** The same split as runner, generator 1, generator 2… */
  generatorCpuSplit?: number[];
  /** CPU used meanwhile by other processes on the machine, % of one core. */
  otherCpuPercent?: number;
  /** Kernel softirq/irq time meanwhile (loopback TCP), % of one core. */
  interruptCpuPercent?: number;
  /** Server RSS at the end of the scenario, MB. */
  rssMb?: number;
  /** Server RSS above the idle server, per 1,000 connections, MB (= KB per connection). */
  rssPer1kConnectionsMb?: number;
  lost?: number;
  publishErrors?: number;
  reordered?: number;
  duplicates?: number;
  protocolErrors?: number;
  unexpectedCloses?: number;
  /** Scenario-specific figures, shown under the table. */
  extra: Record<string, string | number>;
  targets: TargetCheck[];
  notes: string[];
  /** Hottest server functions by self time (--profile). */
  hotFunctions?: Array<{ name: string; location: string; selfMs: number; percent: number }>;
}

export interface RunOptions {
  root: string;
  scenarios: string[];
  /** Measured seconds per scenario; undefined = each scenario's default. */
  durationS?: number;
  /**
   * Warm-up seconds before measuring; undefined = the scenario's default: 20 s for the paced
   * scenarios (a, b, f, g), 2 s for the saturated c and e (see PACED_WARMUP_S).
   */
  warmupS?: number;
  workers: number;
  /** Herald worker processes: e, g, gc and gk run once per entry, the other scenarios with the first. */
  serverWorkers: number[];
  payloadBytes: number;
  jsonPath?: string;
  targets: string[];
  serverPids: number[];
  appId: string;
  appKey: string;
  appSecret: string;
  profile: boolean;
  /** Start the reference floor server (bench/reference/floor-server.ts) instead of Herald. */
  reference: boolean;
  /** Run the server compiled (Herald from dist/, the floor transpiled) instead of through tsx. */
  compiled: boolean;
  /** HERALD_DATABASE_URL for the started servers (default: embedded store in a temporary directory). */
  databaseUrl?: string;
  serverNodeArgs: string[];
  /** huge scenario: connections and server nodes (0 = as many as the open-files limit requires). */
  hugeConnections: number;
  hugeNodes: number;
}

export interface BenchContext {
  options: RunOptions;
  server: ServerUnderTest;
  pool: WorkerPool;
  /** ws://host:port/app/key?protocol=7… for each server node. */
  wsUrls: string[];
  publishTarget: PublishTarget;
  /** Pids whose CPU/RSS count as the server's (empty = CPU and memory not measured). */
  serverPids: number[];
  log: (line: string) => void;
  /** Runs the measured part of a scenario, under the server CPU profiler when --profile is on. */
  profiled<T>(measure: () => Promise<T>): Promise<T>;
}

export function emptyResult(id: string, title: string, connections: number): ScenarioResult {
  return { id, title, connections, extra: {}, targets: [], notes: [] };
}
