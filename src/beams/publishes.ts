/**
 * Publishes and the durable delivery queue (table beams_publishes). A publish is written before the
 * API answers, then claimed by a delivery worker under a lease (FOR UPDATE SKIP LOCKED, so several
 * nodes sharing one PostgreSQL never take the same job). Progress is saved after every page of
 * devices as a cursor (last device id done): after a restart or an expired lease the job resumes
 * from there, so at most one page is sent twice.
 */
import { randomUUID } from 'node:crypto';
import type { Database } from '../storage/database.js';
import type { PublishPayload, PublishRequest } from './validation.js';

export type PublishStatus = 'queued' | 'processing' | 'done' | 'failed';

export interface PublishJob {
  id: string;
  instanceId: string;
  kind: 'interests' | 'users';
  targets: string[];
  payload: PublishPayload;
  cursor: string;
  attempts: number;
}

export interface PublishProgress {
  cursor: string;
  devices: number;
  delivered: number;
  failed: number;
  removed: number;
  /** Last per-device failure reason of the page, kept for the status endpoint. */
  error?: string;
}

interface Row {
  id: string;
  instance_id: string;
  target_kind: 'interests' | 'users';
  targets: string[];
  payload: unknown;
  status: PublishStatus;
  cursor: string;
  devices: number;
  delivered: number;
  failed: number;
  removed: number;
  reported_deliveries: number;
  reported_opens: number;
  attempts: number;
  last_error: string | null;
  created_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
}

const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());

/** A job claimed this many times without finishing is given up (it keeps crashing a worker). */
export const MAX_ATTEMPTS = 10;

export class PublishStore {
  constructor(private readonly db: () => Promise<Database>) {}

  async create(instanceId: string, request: PublishRequest): Promise<string> {
    const id = `pubid-${randomUUID()}`;
    await (await this.db()).query(
      `INSERT INTO beams_publishes (id, instance_id, target_kind, targets, payload) VALUES ($1, $2, $3, $4::text[], $5::jsonb)`,
      [id, instanceId, request.kind, request.targets, JSON.stringify(request.payload)],
    );
    return id;
  }

  /** Status of one publish as returned by GET …/publishes/{publishId}. */
  async describe(instanceId: string, id: string): Promise<Record<string, unknown> | undefined> {
    const rows = await (await this.db()).query<Row>('SELECT * FROM beams_publishes WHERE id = $1 AND instance_id = $2', [id, instanceId]);
    const row = rows[0];
    return row ? describeRow(row) : undefined;
  }

  /** The newest publishes of an instance, newest first (console and admin API). */
  async recent(instanceId: string, limit: number): Promise<Array<Record<string, unknown>>> {
    const rows = await (await this.db()).query<Row>(
      'SELECT * FROM beams_publishes WHERE instance_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2',
      [instanceId, Math.max(1, Math.min(limit, 200))],
    );
    return rows.map(describeRow);
  }

  /** Takes the oldest runnable job (queued, or processing with an expired lease) for `owner`. */
  async claim(owner: string, leaseMs: number): Promise<PublishJob | undefined> {
    const rows = await (await this.db()).query<Row>(
      `UPDATE beams_publishes SET status = 'processing', lease_owner = $1, lease_until = now() + ($2 || ' milliseconds')::interval,
              attempts = attempts + 1, started_at = COALESCE(started_at, now())
        WHERE id = (SELECT id FROM beams_publishes
                     WHERE (status = 'queued' OR (status = 'processing' AND lease_until < now())) AND available_at <= now()
                     ORDER BY available_at, created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING *`,
      [owner, String(leaseMs)],
    );
    const row = rows[0];
    if (!row) return undefined;
    const payload = typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload;
    return { id: row.id, instanceId: row.instance_id, kind: row.target_kind, targets: row.targets, payload: payload as PublishPayload, cursor: row.cursor, attempts: row.attempts };
  }

  /** Saves a finished page and renews the lease; false when the lease was lost to another worker. */
  async saveProgress(id: string, owner: string, page: PublishProgress, leaseMs: number): Promise<boolean> {
    const rows = await (await this.db()).query(
      `UPDATE beams_publishes SET cursor = $3, devices = devices + $4, delivered = delivered + $5, failed = failed + $6,
              removed = removed + $7, lease_until = now() + ($8 || ' milliseconds')::interval,
              last_error = COALESCE($9, last_error)
        WHERE id = $1 AND lease_owner = $2 AND status = 'processing' RETURNING id`,
      [id, owner, page.cursor, page.devices, page.delivered, page.failed, page.removed, String(leaseMs), page.error?.slice(0, 1000) ?? null],
    );
    return rows.length > 0;
  }

  /** Extends the lease of a job still being worked on (long pages, slow gateways). */
  async renewLease(id: string, owner: string, leaseMs: number): Promise<void> {
    await (await this.db()).query(
      `UPDATE beams_publishes SET lease_until = now() + ($3 || ' milliseconds')::interval WHERE id = $1 AND lease_owner = $2 AND status = 'processing'`,
      [id, owner, String(leaseMs)],
    );
  }

  async finish(id: string, owner: string, status: 'done' | 'failed', error?: string): Promise<void> {
    await (await this.db()).query(
      `UPDATE beams_publishes SET status = $3, last_error = COALESCE($4, last_error), finished_at = now(), lease_owner = NULL, lease_until = NULL
        WHERE id = $1 AND lease_owner = $2`,
      [id, owner, status, error?.slice(0, 1000) ?? null],
    );
  }

  /** Puts a job back in the queue (shutdown, or a transient failure retried after `delayMs`). */
  async release(id: string, owner: string, delayMs = 0, error?: string): Promise<void> {
    await (await this.db()).query(
      `UPDATE beams_publishes SET status = 'queued', lease_owner = NULL, lease_until = NULL,
              available_at = now() + ($3 || ' milliseconds')::interval, last_error = COALESCE($4, last_error)
        WHERE id = $1 AND lease_owner = $2 AND status = 'processing'`,
      [id, owner, String(delayMs), error?.slice(0, 1000) ?? null],
    );
  }

  /** Counts a delivery/open acknowledgement sent by an SDK (reporting API). */
  async recordReport(instanceId: string, id: string, event: 'delivery' | 'open'): Promise<void> {
    const column = event === 'open' ? 'reported_opens' : 'reported_deliveries';
    await (await this.db()).query(`UPDATE beams_publishes SET ${column} = ${column} + 1 WHERE id = $1 AND instance_id = $2`, [id, instanceId]);
  }

  /** Deletes finished publishes older than `days` (their status is no longer needed). */
  async purgeFinished(days: number): Promise<number> {
    const rows = await (await this.db()).query(
      `DELETE FROM beams_publishes WHERE status IN ('done', 'failed') AND finished_at < now() - ($1 || ' days')::interval RETURNING id`,
      [String(days)],
    );
    return rows.length;
  }
}

/** A publish as returned by GET …/publishes/{publishId}. */
function describeRow(row: Row): Record<string, unknown> {
  return {
    publishId: row.id,
    status: row.status,
    [row.target_kind]: row.targets,
    devices: row.devices,
    delivered: row.delivered,
    failed: row.failed,
    removedDevices: row.removed,
    reportedDeliveries: row.reported_deliveries,
    reportedOpens: row.reported_opens,
    attempts: row.attempts,
    error: row.last_error,
    createdAt: iso(row.created_at),
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
  };
}
