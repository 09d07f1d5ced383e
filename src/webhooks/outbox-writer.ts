/**
 * Keeps outbox writes off the engine's hot path: observed events are appended to an in-memory
 * buffer and written a few milliseconds later with one INSERT per flush (one flush at a time, so
 * rows keep the order the engine reported them in).
 *
 * Crash window (documented in docs/webhooks.md): events still in this buffer — at most
 * `flushDelayMs` worth plus one INSERT in flight — are lost if the process dies without a graceful
 * shutdown. Once the INSERT commits, delivery is at-least-once. While the database is unreachable
 * the buffer keeps growing up to `maxBuffered` rows; beyond that new events are dropped and counted.
 */
import type { Logger } from '../platform/logger.js';
import type { NewOutboxRow } from './outbox.js';

export interface OutboxWriterOptions {
  insert(rows: NewOutboxRow[]): Promise<void>;
  /** Called after each committed INSERT (wakes the endpoints' dispatchers). */
  onWritten(rows: NewOutboxRow[]): void;
  flushDelayMs: number;
  maxBuffered: number;
  /** Rows per INSERT statement. */
  maxRowsPerInsert?: number;
  logger: Logger;
}

export class OutboxWriter {
  private buffer: NewOutboxRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private failures = 0;
  /** Rows dropped because the buffer was full (database down for long). */
  dropped = 0;
  written = 0;
  private lastDropLog = 0;
  private closed = false;

  constructor(private readonly options: OutboxWriterOptions) {}

  /** Queues one row; false when it had to be dropped. Never blocks. */
  add(row: NewOutboxRow): boolean {
    if (this.closed) {
      this.countDrop('webhook outbox closed: event dropped');
      return false;
    }
    if (this.buffer.length >= this.options.maxBuffered) {
      this.countDrop('webhook outbox buffer full (database unavailable?): events dropped');
      return false;
    }
    this.buffer.push(row);
    if (!this.timer && !this.flushing) this.schedule(this.options.flushDelayMs);
    return true;
  }

  get buffered(): number {
    return this.buffer.length;
  }

  /** Writes everything buffered now (graceful shutdown); resolves once written or after a failure. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // Loop: rows may arrive while an INSERT is in flight.
    for (let round = 0; round < 1000; round++) {
      if (this.flushing) await this.flushing;
      else if (this.buffer.length > 0) {
        const failuresBefore = this.failures;
        await this.writeOnce();
        if (this.failures > failuresBefore) return;
      } else return;
    }
  }

  /** Stops accepting rows (after a final flush by the caller). */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.writeOnce();
    }, ms);
    this.timer.unref();
  }

  private writeOnce(): Promise<void> {
    if (this.flushing) return this.flushing;
    const max = this.options.maxRowsPerInsert ?? 1000;
    const rows = this.buffer.length <= max ? this.buffer : this.buffer.slice(0, max);
    this.buffer = this.buffer.length <= max ? [] : this.buffer.slice(max);
    if (rows.length === 0) return Promise.resolve();
    this.flushing = (async () => {
      try {
        await this.options.insert(rows);
        this.failures = 0;
        this.written += rows.length;
        try {
          this.options.onWritten(rows);
        } catch (err) {
          this.options.logger.error({ err }, 'webhook dispatcher wake-up failed');
        }
      } catch (err) {
        // Put the rows back in front, in order, and retry with back-off.
        this.buffer = rows.concat(this.buffer);
        this.failures++;
        this.options.logger.error({ err, rows: rows.length, failures: this.failures }, 'webhook outbox write failed; will retry');
      } finally {
        this.flushing = undefined;
      }
      if (this.buffer.length > 0 && !this.timer && !this.closed) {
        this.schedule(this.failures > 0 ? Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7)) : this.options.flushDelayMs);
      }
    })();
    return this.flushing;
  }

  private countDrop(message: string): void {
    this.dropped++;
    const now = Date.now();
    if (now - this.lastDropLog > 10_000) {
      this.lastDropLog = now;
      this.options.logger.error({ dropped: this.dropped }, message);
    }
  }
}
