/** Commands and replies exchanged between the benchmark runner and its generator processes (IPC). */
import type { HistogramJSON } from './histogram.js';
import type { PublishPlan, PublishResult, PublishTarget } from './publisher.js';

export interface ConnectCommand {
  type: 'connect';
  /** Client i connects to urls[i % urls.length] (several server nodes in the huge scenario). */
  urls: string[];
  key: string;
  secret: string;
  /** Global client indexes [firstIndex, firstIndex + count) belong to this worker. */
  firstIndex: number;
  count: number;
  /** Client i subscribes to channels[i % channels.length]; empty = connect only (churners). */
  channels: string[];
  /** Client i binds to sourceAddresses[i % length] (spreads ephemeral ports over several 127.0.0.x). */
  sourceAddresses: string[];
  /** Handshakes in flight at once. */
  concurrency: number;
  timeoutMs: number;
  role: 'subscriber' | 'churner';
}

export interface ConnectResult {
  connected: number;
  failed: number;
  firstError?: string;
  elapsedMs: number;
  /** connect + subscribe round trip per client. */
  setupTimes: HistogramJSON;
}

export interface ChurnCommand {
  type: 'churn';
  channels: string[];
  joinsPerSecond: number;
  holdMs: number;
  durationMs: number;
  /** Every Nth leave closes the connection (and reconnects) instead of unsubscribing. */
  disconnectEvery: number;
}

export interface ChurnResult {
  joins: number;
  leaves: number;
  failures: number;
  firstError?: string;
  /** subscribe → subscription_succeeded round trip. */
  joinTimes: HistogramJSON;
}

export interface CollectCommand {
  type: 'collect';
  /** Highest sequence number published per channel in the measured phase. */
  lastSeq: Record<string, number>;
  /** How long to wait for stragglers before counting them as lost. */
  drainTimeoutMs: number;
}

export interface CollectResult {
  deliveries: number;
  memberEvents: number;
  latency: HistogramJSON;
  lost: number;
  /** Arrived after a higher sequence number (concurrent publishes may legitimately cross). */
  reordered: number;
  /** The same event twice: always a server bug. */
  duplicates: number;
  /** Deliveries of an earlier phase that arrived late (ignored). */
  stale: number;
  protocolErrors: number;
  firstProtocolError?: string;
  unexpectedCloses: number;
  openClients: number;
}

export type WorkerCommand =
  | ConnectCommand
  | ChurnCommand
  | CollectCommand
  | { type: 'reset'; phase: number }
  | { type: 'progress'; intervalMs: number }
  | { type: 'publish'; target: PublishTarget; plan: PublishPlan }
  | { type: 'close' };

export interface RequestEnvelope {
  id: number;
  command: WorkerCommand;
}

export type ReplyEnvelope =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string };

/** Unsolicited report: the lowest sequence number every open subscriber of a channel has reached. */
export interface ProgressReport {
  type: 'progress';
  minSeq: Record<string, number>;
  deliveries: number;
}

export type { PublishResult };
