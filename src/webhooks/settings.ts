/** Webhook tuning, derived from the Herald configuration (see docs/webhooks.md). */
import type { HeraldConfig } from '../config/schema.js';

export interface WebhookSettings {
  /** How long after an event happened a failing delivery is still retried. */
  retryMs: number;
  /** Longest wait for one HTTP attempt (connect + response). */
  timeoutMs: number;
  /** First retry delay; doubles per attempt up to backoffMaxMs. */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** How long new events wait for companions before a batched request goes out. */
  batchWindowMs: number;
  batchMaxEvents: number;
  /** Upper bound of one request body (the first event is always sent, however large). */
  batchMaxBytes: number;
  /** channel_vacated / member_removed delay (Pusher: up to 3 s). */
  vacateDelayMs: number;
  /** How long observed events are collected in memory before one INSERT writes them all. */
  flushDelayMs: number;
  /** Events held in memory waiting for the database before new ones are dropped (and logged). */
  maxBufferedEvents: number;
  /** Delivery-log entries kept per app. */
  deliveryLogKeep: number;
  /** How often the outbox is scanned for rows no local timer knows about (other nodes, expired leases). */
  pollMs: number;
}

export function webhookSettings(config: HeraldConfig): WebhookSettings {
  const backoffMaxMs = config.webhookBackoffMaxMs;
  return {
    retryMs: config.webhookRetrySeconds * 1000,
    timeoutMs: config.webhookTimeoutMs,
    backoffInitialMs: Math.min(1000, backoffMaxMs),
    backoffMaxMs,
    batchWindowMs: config.webhookBatchWindowMs,
    batchMaxEvents: config.webhookBatchMaxEvents,
    batchMaxBytes: 1024 * 1024,
    vacateDelayMs: config.webhookVacateDelayMs,
    flushDelayMs: 5,
    maxBufferedEvents: 100_000,
    deliveryLogKeep: 1000,
    pollMs: config.databaseUrl ? 5000 : 30_000,
  };
}

/** Exponential back-off with ±20 % jitter so many endpoints recovering at once do not stampede. */
export function backoffDelay(settings: WebhookSettings, attempt: number): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 30);
  const base = Math.min(settings.backoffMaxMs, settings.backoffInitialMs * 2 ** exponent);
  const jitter = base * 0.2 * (Math.random() * 2 - 1);
  return Math.max(1, Math.min(settings.backoffMaxMs, Math.round(base + jitter)));
}
