/**
 * The durable outbox: one row per (event, endpoint), written before any delivery attempt and
 * deleted only once the receiver answered 2xx (or the retry period ran out). Works on the embedded
 * store and on PostgreSQL, including several Herald nodes sharing one PostgreSQL.
 *
 * Ordering per channel: a row is eligible only when no earlier row of the same (app, endpoint,
 * channel) is waiting for a retry or in flight. `next_attempt_at` serves both as the back-off
 * time and as the lease while a request is in flight (claimed rows get `now + timeout + margin`),
 * so a crashed node's claims become eligible again on their own.
 *
 * Held rows (channel_vacated, member_removed) wait `vacateDelayMs` with a `cancel_key`; a later
 * channel_occupied / member_added with the same key deletes the held row and is itself dropped
 * (Pusher: a client coming back within the window produces no webhook at all); an endpoint that
 * does not receive the re-add gets a `cancelOnly` row, which cancels but is never stored. Held rows do not
 * block their channel while they wait: like on Pusher, a removal is reported late by design.
 */
import type { Database } from '../storage/database.js';
import { registerMigrations } from '../storage/migrations.js';
import { insertDelivery, pruneDeliveries, type DeliveryRecord } from './delivery-log.js';

registerMigrations([
  {
    id: '0200_webhook_outbox',
    sql: `
CREATE TABLE IF NOT EXISTS herald_webhook_outbox (
  id BIGSERIAL PRIMARY KEY,
  app_id TEXT NOT NULL,
  url TEXT NOT NULL,
  channel TEXT NOT NULL,
  event TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  next_attempt_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  last_error TEXT,
  cancel_key TEXT
);
CREATE INDEX IF NOT EXISTS herald_webhook_outbox_endpoint ON herald_webhook_outbox (app_id, url, id);
CREATE INDEX IF NOT EXISTS herald_webhook_outbox_held ON herald_webhook_outbox (app_id, url, cancel_key) WHERE cancel_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS herald_webhook_outbox_channel ON herald_webhook_outbox (app_id, url, channel, id);
CREATE INDEX IF NOT EXISTS herald_webhook_outbox_due ON herald_webhook_outbox (next_attempt_at);
`,
  },
  {
    id: '0201_webhook_deliveries',
    sql: `
CREATE TABLE IF NOT EXISTS herald_webhook_deliveries (
  id BIGSERIAL PRIMARY KEY,
  app_id TEXT NOT NULL,
  url TEXT NOT NULL,
  at BIGINT NOT NULL,
  outcome TEXT NOT NULL,
  status_code INTEGER,
  latency_ms INTEGER,
  events INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  error TEXT,
  sample TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS herald_webhook_deliveries_app ON herald_webhook_deliveries (app_id, id);
`,
  },
]);

export interface NewOutboxRow {
  appId: string;
  url: string;
  channel: string;
  /** The event object, serialized once (it is sent byte for byte inside the batch body). */
  event: string;
  createdAt: number;
  expiresAt: number;
  /** Not sent before `until`, and cancellable until then by a row whose `cancels` is `key`. */
  hold?: { key: string; until: number };
  /** Cancels a held row of the same app and endpoint; when one was cancelled this row is dropped too. */
  cancels?: string;
  /** The endpoint does not receive this event, only its cancellation: never stored. */
  cancelOnly?: true;
}

export interface WriteResult {
  /** Rows now in the outbox. */
  written: number;
  /** Rows that cancelled each other (held + cancelling), none of them sent. */
  cancelled: number;
}

export interface OutboxRow {
  id: number;
  channel: string;
  event: string;
  createdAt: number;
  expiresAt: number;
  /** Failed attempts so far. */
  attempts: number;
}

export interface EndpointQueue {
  url: string;
  /** Events waiting (held removals included). */
  pending: number;
  /** Unix ms of the earliest next attempt (in the past when due now). */
  nextAttemptAt: number | null;
  /** Failed attempts of the most-tried waiting event. */
  attempts: number;
  lastError: string | null;
}

export interface ClaimRequest {
  appId: string;
  url: string;
  now: number;
  maxEvents: number;
  maxBytes: number;
  /** Until when the claimed rows are ours (then another node, or a restart, may take them). */
  leaseUntil: number;
}

/** Bigint columns arrive as strings from node-postgres and as numbers from PGlite. */
type Num = number | string;

export class OutboxStore {
  constructor(
    private readonly db: Database,
    /** Identifies this process's leases (released on a clean stop). */
    readonly owner: string,
  ) {}

  get kind(): Database['kind'] {
    return this.db.kind;
  }

  /**
   * Writes a batch in one transaction: held/cancelling pairs within the batch cancel in memory
   * (when the cancelling event happened before the hold ended),
   * cancelling rows are checked against held rows already stored (one DELETE), the rest is one
   * INSERT whose ids follow the array order (per-channel order depends on it).
   */
  async write(rows: NewOutboxRow[], now: number): Promise<WriteResult> {
    if (rows.length === 0) return { written: 0, cancelled: 0 };
    const remaining: Array<NewOutboxRow | undefined> = [...rows];
    const heldAt = new Map<string, number>();
    let cancelled = 0;
    rows.forEach((row, i) => {
      if (row.hold) heldAt.set(scoped(row, row.hold.key), i);
      else if (row.cancels) {
        const key = scoped(row, row.cancels);
        const held = heldAt.get(key);
        // Only a comeback within the hold cancels: both may sit in the buffer far longer (database down).
        if (held === undefined || row.createdAt >= rows[held]!.hold!.until) return;
        remaining[held] = undefined;
        remaining[i] = undefined;
        heldAt.delete(key);
        cancelled += row.cancelOnly ? 1 : 2;
      }
    });
    const pending = remaining.filter((r): r is NewOutboxRow => r !== undefined);
    const cancelling = pending.filter((r) => r.cancels !== undefined);
    return this.db.transaction(async (tx) => {
      let hits = new Set<string>();
      if (cancelling.length > 0) {
        const deleted = await tx.query<{ app_id: string; url: string; cancel_key: string }>(
          `DELETE FROM herald_webhook_outbox o
           USING unnest($1::text[], $2::text[], $3::text[]) AS c(app_id, url, cancel_key)
           WHERE o.app_id = c.app_id AND o.url = c.url AND o.cancel_key = c.cancel_key AND o.next_attempt_at > $4
           RETURNING o.app_id, o.url, o.cancel_key`,
          [cancelling.map((r) => r.appId), cancelling.map((r) => r.url), cancelling.map((r) => r.cancels), now],
        );
        hits = new Set(deleted.map((d) => `${d.app_id}\n${d.url}\n${d.cancel_key}`));
        cancelled += deleted.length;
      }
      const insert = pending.filter((r) => {
        if (r.cancelOnly) return false;
        if (r.cancels === undefined || !hits.has(scoped(r, r.cancels))) return true;
        cancelled++;
        return false;
      });
      if (insert.length > 0) {
        await tx.query(
          `INSERT INTO herald_webhook_outbox (app_id, url, channel, event, created_at, expires_at, next_attempt_at, cancel_key)
           SELECT app_id, url, channel, event, created_at, expires_at, next_attempt_at, cancel_key
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::text[])
             WITH ORDINALITY AS u(app_id, url, channel, event, created_at, expires_at, next_attempt_at, cancel_key, position)
           ORDER BY position`,
          [
            insert.map((r) => r.appId),
            insert.map((r) => r.url),
            insert.map((r) => r.channel),
            insert.map((r) => r.event),
            insert.map((r) => r.createdAt),
            insert.map((r) => r.expiresAt),
            insert.map((r) => r.hold?.until ?? r.createdAt),
            insert.map((r) => r.hold?.key ?? null),
          ],
        );
      }
      return { written: insert.length, cancelled };
    });
  }

  /**
   * Leases the next batch for one endpoint: eligible rows in id order, at most `maxEvents` and
   * `maxBytes` of events (the first row always). Eligible = due, and no earlier row of its channel
   * is waiting (that keeps per-channel order while other channels flow).
   */
  async claim(request: ClaimRequest): Promise<OutboxRow[]> {
    const rows = await this.db.transaction(async (tx) => {
      // Nodes sharing PostgreSQL take turns per endpoint, so two never lease the same rows.
      if (this.db.kind === 'postgres') {
        await tx.query('SELECT pg_advisory_xact_lock(725200, hashtext($1))', [`${request.appId}\n${request.url}`]);
      }
      return tx.query<{ id: Num; channel: string; event: string; created_at: Num; expires_at: Num; attempts: number }>(
        `WITH candidates AS (
           SELECT o.id, o.event FROM herald_webhook_outbox o
           WHERE o.app_id = $1 AND o.url = $2 AND o.next_attempt_at <= $3
             AND NOT EXISTS (
               SELECT 1 FROM herald_webhook_outbox p
               WHERE p.app_id = o.app_id AND p.url = o.url AND p.channel = o.channel AND p.id < o.id
                 AND p.next_attempt_at > $3 AND p.cancel_key IS NULL
               -- OFFSET 0 keeps this a per-row subplan on the (app, url, channel, id) index; without
               -- statistics the planner otherwise picks an anti-join that rescans the whole backlog.
               OFFSET 0)
           ORDER BY o.id LIMIT $4
         ), ranked AS (
           SELECT id, row_number() OVER (ORDER BY id) AS position, sum(octet_length(event)) OVER (ORDER BY id) AS running_bytes
           FROM candidates
         )
         UPDATE herald_webhook_outbox o SET next_attempt_at = $6, lease_owner = $7, cancel_key = NULL
         FROM ranked
         WHERE o.id = ranked.id AND (ranked.position = 1 OR ranked.running_bytes <= $5)
         RETURNING o.id, o.channel, o.event, o.created_at, o.expires_at, o.attempts`,
        [request.appId, request.url, request.now, request.maxEvents, request.maxBytes, request.leaseUntil, this.owner],
      );
    });
    return rows
      .map((r) => ({ id: Number(r.id), channel: r.channel, event: r.event, createdAt: Number(r.created_at), expiresAt: Number(r.expires_at), attempts: r.attempts }))
      .sort((a, b) => a.id - b.id);
  }

  /** The receiver took the batch: remove it and log the attempt, atomically. */
  async complete(ids: number[], record: DeliveryRecord): Promise<DeliveryRecord> {
    return this.db.transaction(async (tx) => {
      await tx.query('DELETE FROM herald_webhook_outbox WHERE id = ANY($1::bigint[])', [ids]);
      return { ...record, id: await insertDelivery(tx, record) };
    });
  }

  /**
   * The attempt failed: rows past their retry period are dropped (logged as `expired`), the rest
   * wait until `retryAt`. Returns the stored log records.
   */
  async fail(retryIds: number[], expiredIds: number[], retryAt: number, failure: DeliveryRecord, expired?: DeliveryRecord): Promise<DeliveryRecord[]> {
    return this.db.transaction(async (tx) => {
      if (retryIds.length > 0) {
        await tx.query(
          `UPDATE herald_webhook_outbox SET attempts = attempts + 1, next_attempt_at = $2, lease_owner = NULL, last_error = $3
           WHERE id = ANY($1::bigint[])`,
          [retryIds, retryAt, failure.error?.slice(0, 500) ?? null],
        );
      }
      if (expiredIds.length > 0) await tx.query('DELETE FROM herald_webhook_outbox WHERE id = ANY($1::bigint[])', [expiredIds]);
      const out: DeliveryRecord[] = [{ ...failure, id: await insertDelivery(tx, failure) }];
      if (expired) out.push({ ...expired, id: await insertDelivery(tx, expired) });
      return out;
    });
  }

  /** Earliest future moment one of the endpoint's rows becomes due (for the dispatcher's timer). */
  async nextDue(appId: string, url: string, now: number): Promise<number | undefined> {
    const rows = await this.db.query<{ due: Num | null }>(
      'SELECT min(next_attempt_at) AS due FROM herald_webhook_outbox WHERE app_id = $1 AND url = $2 AND next_attempt_at > $3',
      [appId, url, now],
    );
    const due = rows[0]?.due;
    return due === null || due === undefined ? undefined : Number(due);
  }

  /** Endpoints with due rows (rows from other nodes, expired leases). */
  async dueEndpoints(now: number): Promise<Array<{ appId: string; url: string }>> {
    const rows = await this.db.query<{ app_id: string; url: string }>(
      'SELECT DISTINCT app_id, url FROM herald_webhook_outbox WHERE next_attempt_at <= $1 LIMIT 10000',
      [now],
    );
    return rows.map((r) => ({ appId: r.app_id, url: r.url }));
  }

  /** Every (app, endpoint) with queued rows. */
  async queuedEndpoints(): Promise<Array<{ appId: string; url: string }>> {
    const rows = await this.db.query<{ app_id: string; url: string }>('SELECT DISTINCT app_id, url FROM herald_webhook_outbox LIMIT 100000');
    return rows.map((r) => ({ appId: r.app_id, url: r.url }));
  }

  /** Gives back this process's in-flight leases so the rows are due again immediately. */
  async releaseLeases(now: number, everyone = false): Promise<void> {
    await this.db.query(
      `UPDATE herald_webhook_outbox SET next_attempt_at = $1, lease_owner = NULL
       WHERE lease_owner IS NOT NULL AND ($2 OR lease_owner = $3)`,
      [now, everyone, this.owner],
    );
  }

  /** Drops an app's rows for endpoints no longer configured; returns how many per URL. */
  async dropUnconfigured(appId: string, keepUrls: string[]): Promise<Array<{ url: string; count: number }>> {
    const rows = await this.db.query<{ url: string; count: Num }>(
      `WITH gone AS (
         DELETE FROM herald_webhook_outbox WHERE app_id = $1 AND NOT (url = ANY($2::text[])) RETURNING url)
       SELECT url, count(*) AS count FROM gone GROUP BY url`,
      [appId, keepUrls],
    );
    return rows.map((r) => ({ url: r.url, count: Number(r.count) }));
  }

  /** Removes rows a day past their retry period whatever the reason (e.g. their app is gone). */
  async sweepOrphans(now: number): Promise<number> {
    const rows = await this.db.query<{ id: Num }>('DELETE FROM herald_webhook_outbox WHERE expires_at < $1 RETURNING id', [now - 86_400_000]);
    return rows.length;
  }

  /** Per endpoint of an app: queued events, the next attempt, the most attempts and the last error. */
  async queueSummary(appId: string): Promise<EndpointQueue[]> {
    const rows = await this.db.query<{ url: string; pending: Num; next_attempt_at: Num | null; attempts: number | null; last_error: string | null }>(
      `SELECT url, count(*) AS pending, min(next_attempt_at) AS next_attempt_at, max(attempts) AS attempts,
              (array_agg(last_error ORDER BY id DESC) FILTER (WHERE last_error IS NOT NULL))[1] AS last_error
       FROM herald_webhook_outbox WHERE app_id = $1 GROUP BY url LIMIT 1000`,
      [appId],
    );
    return rows.map((r) => ({
      url: r.url,
      pending: Number(r.pending),
      nextAttemptAt: r.next_attempt_at === null ? null : Number(r.next_attempt_at),
      attempts: r.attempts ?? 0,
      lastError: r.last_error,
    }));
  }

  /**
   * Makes an endpoint's waiting retries due at `now` (an operator's "retry now"). Rows in flight
   * and held removals (whose delay is deliberate) are left alone. Returns how many rows moved.
   */
  async retryNow(appId: string, url: string, now: number): Promise<number> {
    const rows = await this.db.query<{ id: Num }>(
      `UPDATE herald_webhook_outbox SET next_attempt_at = $3
       WHERE app_id = $1 AND url = $2 AND next_attempt_at > $3 AND lease_owner IS NULL AND cancel_key IS NULL
       RETURNING id`,
      [appId, url, now],
    );
    return rows.length;
  }

  async pendingCount(appId: string): Promise<number> {
    const rows = await this.db.query<{ n: Num }>('SELECT count(*) AS n FROM herald_webhook_outbox WHERE app_id = $1', [appId]);
    return Number(rows[0]?.n ?? 0);
  }

  async pruneLog(appId: string, keep: number): Promise<void> {
    await pruneDeliveries(this.db, appId, keep);
  }

  get database(): Database {
    return this.db;
  }
}

function scoped(row: NewOutboxRow, key: string): string {
  return `${row.appId}\n${row.url}\n${key}`;
}
