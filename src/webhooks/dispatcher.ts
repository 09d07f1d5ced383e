/**
 * Delivers one endpoint's outbox (one app, one URL — batches never mix apps): leases a batch,
 * signs and POSTs it, deletes it on 2xx, reschedules it with exponential back-off otherwise.
 * One request in flight per endpoint and node. A failed batch blocks later events of its
 * channels (the outbox claim skips them) while other channels keep flowing; when the receiver as a
 * whole is unreachable the endpoint pauses with its own back-off instead of hammering it.
 */
import type { AppRegistry } from '../apps/registry.js';
import type { App } from '../apps/app.js';
import type { Logger } from '../platform/logger.js';
import { SAMPLE_SIZE, type DeliveryRecord } from './delivery-log.js';
import { customHeaders, endpointByUrl } from './endpoints.js';
import { buildSignedRequest, type WebhookHttpClient } from './http-post.js';
import type { OutboxRow, OutboxStore } from './outbox.js';
import { backoffDelay, type WebhookSettings } from './settings.js';

export interface DispatcherDeps {
  store: OutboxStore;
  apps: AppRegistry;
  settings: WebhookSettings;
  http: WebhookHttpClient;
  logger: Logger;
  now: () => number;
  /** Stored delivery-log records, in order. */
  onDelivery(records: DeliveryRecord[]): void;
}

/** Wait before retrying after the database itself failed. */
const DATABASE_RETRY_MS = 1000;
/** Extra lease time beyond the request timeout (clock skew between nodes, slow commits). */
const LEASE_MARGIN_MS = 5000;

export class EndpointDispatcher {
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private dirty = false;
  private stopped = false;
  private pausedUntil = 0;
  private consecutiveFailures = 0;

  constructor(
    private readonly deps: DispatcherDeps,
    readonly appId: string,
    readonly url: string,
  ) {}

  /** New rows were written for this endpoint: send them after the batch window. */
  notify(): void {
    this.dirty = true;
    if (this.running || this.stopped) return;
    this.schedule(this.deps.now() + this.batchWindow());
  }

  /** Look at the outbox soon (start-up, periodic poll). */
  poke(): void {
    if (this.running || this.stopped) return;
    this.schedule(this.deps.now());
  }

  get paused(): boolean {
    return this.pausedUntil > this.deps.now();
  }

  /**
   * Graceful shutdown: send what is due now (unless the endpoint is paused) and wait until the
   * loop goes idle or the deadline passes.
   */
  async settle(deadline: number): Promise<void> {
    if (this.stopped) return;
    if (!this.running && !this.paused) this.kick();
    const remaining = deadline - this.deps.now();
    if (!this.running || remaining <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.running, new Promise<void>((r) => (timer = setTimeout(r, remaining)))]);
    clearTimeout(timer);
  }

  /** Stops scheduling; resolves when the current batch (if any) is done or abandoned. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private batchWindow(): number {
    const app = this.deps.apps.byId(this.appId);
    return app?.webhookBatching === false ? 0 : this.deps.settings.batchWindowMs;
  }

  private schedule(at: number): void {
    if (this.stopped) return;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, Math.max(0, at - this.deps.now()));
    this.timer.unref();
  }

  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = this.loop()
      .catch((err) => {
        this.deps.logger.error({ err, appId: this.appId, url: this.url }, 'webhook dispatcher failed');
        this.schedule(this.deps.now() + DATABASE_RETRY_MS);
      })
      .finally(() => {
        this.running = undefined;
        // Rows written while the last claim was running would otherwise wait for the next poll.
        if (this.dirty) this.notify();
      });
  }

  private async loop(): Promise<void> {
    const { store, settings } = this.deps;
    for (;;) {
      if (this.stopped) return;
      const now = this.deps.now();
      if (this.pausedUntil > now) {
        this.schedule(this.pausedUntil);
        return;
      }
      const app = this.deps.apps.byId(this.appId);
      // Unknown app or endpoint: the service drops or keeps the rows (see service.ts); stay idle.
      if (!app || !endpointByUrl(app, this.url)) return;
      this.dirty = false;
      let rows: OutboxRow[];
      try {
        rows = await store.claim({
          appId: this.appId,
          url: this.url,
          now,
          maxEvents: app.webhookBatching ? settings.batchMaxEvents : 1,
          maxBytes: settings.batchMaxBytes,
          leaseUntil: now + settings.timeoutMs + LEASE_MARGIN_MS,
        });
      } catch (err) {
        this.deps.logger.error({ err, appId: this.appId }, 'webhook outbox claim failed; retrying');
        this.schedule(now + DATABASE_RETRY_MS);
        return;
      }
      if (this.stopped) return; // leased rows are released by the service on stop
      if (rows.length === 0) {
        const due = await store.nextDue(this.appId, this.url, now);
        if (due !== undefined) this.schedule(due);
        return;
      }
      await this.deliver(app, rows);
    }
  }

  private async deliver(app: App, rows: OutboxRow[]): Promise<void> {
    const { settings, store } = this.deps;
    const endpoint = endpointByUrl(app, this.url);
    const request = buildSignedRequest(
      { key: app.key, secret: app.secret },
      rows[0]!.createdAt,
      rows.map((r) => r.event),
      customHeaders(endpoint),
    );
    const result = await this.deps.http.post(this.url, request, settings.timeoutMs);
    // Stopping aborts requests in flight: leave the lease, the rows are released on stop.
    if (this.stopped) return;
    const now = this.deps.now();
    const attempt = Math.max(...rows.map((r) => r.attempts)) + 1;
    const base: DeliveryRecord = {
      appId: this.appId,
      url: this.url,
      at: now,
      outcome: result.ok ? 'delivered' : 'failed',
      latencyMs: result.latencyMs,
      events: rows.length,
      attempt,
      sample: sampleOf(rows),
    };
    if (result.statusCode !== undefined) base.statusCode = result.statusCode;
    if (result.error !== undefined) base.error = result.error;

    if (result.ok) {
      this.consecutiveFailures = 0;
      try {
        this.deps.onDelivery([await store.complete(rows.map((r) => r.id), base)]);
      } catch (err) {
        // The receiver has the events but they are still leased: they will be sent again
        // when the lease runs out (at-least-once).
        this.deps.logger.error({ err, appId: this.appId }, 'webhook delivered but the outbox could not be updated');
      }
      return;
    }

    const expired = rows.filter((r) => r.expiresAt <= now);
    const retry = rows.filter((r) => r.expiresAt > now);
    let retryAt = now + backoffDelay(settings, attempt);
    // The last retry happens when the earliest event's retry period ends, not after it.
    if (retry.length > 0) retryAt = Math.min(retryAt, Math.max(now + 1, Math.min(...retry.map((r) => r.expiresAt))));
    const expiredRecord: DeliveryRecord | undefined =
      expired.length === 0
        ? undefined
        : {
            appId: this.appId,
            url: this.url,
            at: now,
            outcome: 'expired',
            events: expired.length,
            attempt,
            sample: sampleOf(expired),
            error: `gave up after ${settings.retryMs / 1000} s of retries; last error: ${base.error ?? 'failed'}`,
          };
    if (result.endpointDown) {
      this.consecutiveFailures++;
      this.pausedUntil = now + backoffDelay(settings, this.consecutiveFailures);
    }
    try {
      this.deps.onDelivery(await store.fail(retry.map((r) => r.id), expired.map((r) => r.id), retryAt, base, expiredRecord));
    } catch (err) {
      this.deps.logger.error({ err, appId: this.appId }, 'webhook failure could not be recorded; the lease will expire');
    }
    if (expiredRecord) {
      this.deps.logger.warn({ appId: this.appId, url: this.url, events: expired.length, error: base.error }, 'webhook events expired undelivered');
    }
  }
}

function sampleOf(rows: OutboxRow[]): Array<{ name: string; channel: string }> {
  return rows.slice(0, SAMPLE_SIZE).map((r) => ({ name: eventName(r.event), channel: r.channel }));
}

function eventName(serialized: string): string {
  try {
    const name = (JSON.parse(serialized) as { name?: unknown }).name;
    return typeof name === 'string' ? name : '?';
  } catch {
    return '?';
  }
}
