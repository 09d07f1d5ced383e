/**
 * The delivery log: one row per HTTP attempt (and per batch given up), newest first, the last
 * `deliveryLogKeep` per app. Written in the same transaction that settles the outbox rows, so the
 * log and the outbox never disagree.
 */
import type { Database } from '../storage/database.js';

export type DeliveryOutcome =
  /** The receiver answered 2xx; the events left the outbox. */
  | 'delivered'
  /** Non-2xx, network error or timeout; the events stay queued for a retry. */
  | 'failed'
  /** Failed after the retry period; the events were dropped. */
  | 'expired'
  /** Dropped without an attempt: the endpoint or app was removed from the configuration. */
  | 'dropped';

export interface DeliveryRecord {
  /** Log row id (increasing); absent until stored. */
  id?: number;
  appId: string;
  url: string;
  /** Unix ms when the attempt finished. */
  at: number;
  outcome: DeliveryOutcome;
  /** HTTP status when the receiver answered. */
  statusCode?: number;
  latencyMs?: number;
  /** Events in the request (or dropped). */
  events: number;
  /** 1 for a first attempt; the highest attempt number among the batch's events. */
  attempt: number;
  error?: string;
  /** The first few events' names and channels (for the console). */
  sample: Array<{ name: string; channel: string }>;
}

export const SAMPLE_SIZE = 10;

type Query = Pick<Database, 'query'>;

export async function insertDelivery(db: Query, record: DeliveryRecord): Promise<number> {
  const rows = await db.query<{ id: number | string }>(
    `INSERT INTO herald_webhook_deliveries (app_id, url, at, outcome, status_code, latency_ms, events, attempt, error, sample)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
    [
      record.appId,
      record.url,
      record.at,
      record.outcome,
      record.statusCode ?? null,
      record.latencyMs === undefined ? null : Math.round(record.latencyMs),
      record.events,
      record.attempt,
      record.error?.slice(0, 500) ?? null,
      JSON.stringify(record.sample.slice(0, SAMPLE_SIZE)),
    ],
  );
  return Number(rows[0]!.id);
}

interface DeliveryRow {
  id: number | string;
  app_id: string;
  url: string;
  at: number | string;
  outcome: DeliveryOutcome;
  status_code: number | null;
  latency_ms: number | null;
  events: number;
  attempt: number;
  error: string | null;
  sample: string;
}

/** Newest first; `beforeId` pages further back. */
export async function recentDeliveries(db: Query, appId: string, limit: number, beforeId?: number): Promise<DeliveryRecord[]> {
  const rows = await db.query<DeliveryRow>(
    `SELECT id, app_id, url, at, outcome, status_code, latency_ms, events, attempt, error, sample
     FROM herald_webhook_deliveries
     WHERE app_id = $1 AND ($3::bigint IS NULL OR id < $3::bigint)
     ORDER BY id DESC LIMIT $2`,
    [appId, limit, beforeId ?? null],
  );
  return rows.map((r) => {
    const record: DeliveryRecord = {
      id: Number(r.id),
      appId: r.app_id,
      url: r.url,
      at: Number(r.at),
      outcome: r.outcome,
      events: r.events,
      attempt: r.attempt,
      sample: parseSample(r.sample),
    };
    if (r.status_code !== null) record.statusCode = r.status_code;
    if (r.latency_ms !== null) record.latencyMs = r.latency_ms;
    if (r.error !== null) record.error = r.error;
    return record;
  });
}

/** Keeps the newest `keep` entries of an app. */
export async function pruneDeliveries(db: Query, appId: string, keep: number): Promise<void> {
  await db.query(
    `DELETE FROM herald_webhook_deliveries WHERE app_id = $1 AND id <= (
       SELECT id FROM herald_webhook_deliveries WHERE app_id = $1 ORDER BY id DESC OFFSET $2 LIMIT 1)`,
    [appId, keep],
  );
}

/** The JSON shape served by the delivery-log endpoints (snake_case like the Pusher API). */
export function deliveryJson(record: DeliveryRecord): Record<string, unknown> {
  return {
    id: record.id ?? null,
    url: record.url,
    time_ms: record.at,
    outcome: record.outcome,
    status_code: record.statusCode ?? null,
    latency_ms: record.latencyMs ?? null,
    events: record.events,
    attempt: record.attempt,
    error: record.error ?? null,
    sample: record.sample,
  };
}

function parseSample(text: string): Array<{ name: string; channel: string }> {
  try {
    const value = JSON.parse(text) as unknown;
    return Array.isArray(value) ? (value as Array<{ name: string; channel: string }>) : [];
  } catch {
    return [];
  }
}
