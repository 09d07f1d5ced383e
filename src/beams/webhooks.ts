/**
 * Beams webhooks, as Pusher documents them (beams/concepts/webhooks, beams/reference/webhooks):
 *
 * - Per instance, configured webhooks get `v1.PublishToUsersAttempt` (after a publish to users),
 *   `v1.UserNotificationAcknowledgement` and `v1.UserNotificationOpen` (reported by the device
 *   SDKs through the reporting API). Body `{payload, metadata: {created_at, event_type, event_id,
 *   product: "beams"}, custom_data}`; headers User-Agent `pusher-webhooks`, `Webhook-Event-Type`,
 *   `Webhook-ID-UUID`, `Webhook-Request-ID-UUID` (the same on retries) and `Webhook-Signature`
 *   (hex HMAC-SHA1 of the body, keyed with the webhook's secret). Retries after 10, 30, 120 and
 *   300 s, then given up.
 * - A publish's own `webhookUrl` gets the deprecated publish hooks `{publishId, status: "STARTED" |
 *   "FINISHED", requestBody, results}` (unsigned; Pusher suggests basic-auth credentials in the URL).
 *
 * Every request goes through the durable webhook outbox (table herald_webhook_outbox, rows under
 * the app id `beams:{instanceId}`), written before the first attempt and deleted after a 2xx, so
 * nothing is lost on a crash or kill -9; leases let several nodes share one PostgreSQL.
 *
 * The outbox is checked every pollMs while there is work, and less often (the wait doubling up to
 * maxIdlePollMs) while it stays empty, as the delivery worker does with its queue (idle-backoff.ts):
 * rows written here are sent at once and a failed row wakes this node when its retry falls due, so
 * only rows another node left (it died before sending them, or its lease ran out) wait for a check.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { Logger } from '../platform/logger.js';
import type { Database } from '../storage/database.js';
import { OutboxStore, type NewOutboxRow, type OutboxRow } from '../webhooks/outbox.js';
import { WebhookHttpClient } from '../webhooks/http-post.js';
import type { DeliveryRecord } from '../webhooks/delivery-log.js';
import type { BeamsInstance, InstanceStore } from './instances.js';
import type { PublishTotals } from './delivery.js';
import type { PublishJob } from './publishes.js';
import type { BeamsWebhookEvent } from './settings.js';
import { IdleBackoff } from './idle-backoff.js';

export interface BeamsWebhookOptions {
  /** Waits before each retry (Pusher: 10 s, 30 s, 120 s, 300 s); a row fails for good after the last. */
  retryDelaysMs: number[];
  /** Pusher expects an answer within 3 s. */
  timeoutMs: number;
  /** How often the outbox is checked for due rows while there is work (new rows are sent at once). */
  pollMs: number;
  /**
   * The longest wait between checks while the outbox stays empty: the wait doubles from pollMs
   * after each empty check. It bounds how late a row another node left is sent, so keep it well
   * under the 8 s lease of a row being sent (timeoutMs + 5 s) and the first retry delay (10 s).
   */
  maxIdlePollMs: number;
}

export const DEFAULT_BEAMS_WEBHOOK_OPTIONS: BeamsWebhookOptions = {
  retryDelaysMs: [10_000, 30_000, 120_000, 300_000],
  timeoutMs: 3000,
  pollMs: 1000,
  maxIdlePollMs: 4000,
};

const APP_PREFIX = 'beams:';

/** What an outbox row holds: the exact body and the headers that do not depend on the secret. */
interface StoredRequest {
  body: string;
  eventType: string;
  /** Configured webhook id (signed requests), absent for a publish's own webhookUrl. */
  webhookId?: string;
  requestId: string;
}

export class BeamsWebhooks {
  private store: OutboxStore | undefined;
  private readonly http = new WebhookHttpClient();
  private readonly options: BeamsWebhookOptions;
  private readonly idle: IdleBackoff;
  private loopDone: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly db: () => Promise<Database>,
    private readonly instances: InstanceStore,
    private readonly logger: Logger,
    options: Partial<BeamsWebhookOptions> = {},
  ) {
    this.options = { ...DEFAULT_BEAMS_WEBHOOK_OPTIONS, ...options };
    this.idle = new IdleBackoff(this.options.pollMs, this.options.maxIdlePollMs);
  }

  /** Starts sending (rows left by a previous run included). Idempotent. */
  start(): void {
    if (this.loopDone || this.stopped) return;
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.idle.close();
    await this.loopDone;
    this.http.close();
  }

  // ---- events ---------------------------------------------------------------------------

  async publishToUsersAttempt(job: PublishJob, reached: { delivered: Set<string>; failed: Set<string> }, withDevices: Set<string>): Promise<void> {
    const delivered = job.targets.filter((u) => reached.delivered.has(u));
    const payload = {
      instance_id: job.instanceId,
      publish_id: job.id,
      users_delivered_to_gateway: delivered,
      users_no_devices: job.targets.filter((u) => !withDevices.has(u)),
      users_gateway_failed: job.targets.filter((u) => withDevices.has(u) && !reached.delivered.has(u) && reached.failed.has(u)),
    };
    await this.toConfigured(job.instanceId, job.id, 'v1.PublishToUsersAttempt', payload);
  }

  async userNotification(instanceId: string, publishId: string, userId: string, event: 'delivery' | 'open'): Promise<void> {
    const type = event === 'open' ? 'v1.UserNotificationOpen' : 'v1.UserNotificationAcknowledgement';
    await this.toConfigured(instanceId, publishId, type, { instance_id: instanceId, publish_id: publishId, user_id: userId });
  }

  /** The deprecated hooks of a publish that named its own webhookUrl. */
  async publishHook(job: PublishJob, status: 'STARTED' | 'FINISHED', totals?: PublishTotals): Promise<void> {
    const url = job.payload.webhookUrl;
    if (!url) return;
    const { webhookUrl: _omit, ...rest } = job.payload;
    const requestBody = { ...rest, [job.kind]: job.targets, webhookUrl: url };
    const body: Record<string, unknown> = { publishId: job.id, status, requestBody };
    if (totals) body.results = { all: { numSuccessfulPublishes: totals.delivered, numFailedPublishes: totals.failed } };
    await this.write([this.row(job.instanceId, url, job.id, { body: JSON.stringify(body), eventType: `publish.${status.toLowerCase()}`, requestId: randomUUID() })]);
  }

  private async toConfigured(instanceId: string, publishId: string, type: BeamsWebhookEvent, payload: Record<string, unknown>): Promise<void> {
    const instance = await this.instances.get(instanceId);
    if (!instance) return;
    const rows: NewOutboxRow[] = [];
    for (const webhook of instance.settings.webhooks) {
      if (webhook.events && !webhook.events.includes(type)) continue;
      const body = JSON.stringify({
        payload,
        metadata: { created_at: new Date().toISOString().replace(/\.\d{3}Z$/, '+0000'), event_type: type, event_id: randomUUID(), product: 'beams' },
        custom_data: webhook.customData ?? {},
      });
      rows.push(this.row(instanceId, webhook.url, publishId, { body, eventType: type, webhookId: webhook.id, requestId: randomUUID() }));
    }
    await this.write(rows);
  }

  private row(instanceId: string, url: string, publishId: string, request: StoredRequest): NewOutboxRow {
    const now = Date.now();
    const retryWindow = this.options.retryDelaysMs.reduce((a, b) => a + b, 0) + 10 * this.options.timeoutMs;
    return { appId: APP_PREFIX + instanceId, url, channel: publishId, event: JSON.stringify(request), createdAt: now, expiresAt: now + retryWindow };
  }

  private async write(rows: NewOutboxRow[]): Promise<void> {
    if (rows.length === 0) return;
    const store = await this.outbox();
    await store.write(rows, Date.now());
    this.start();
    this.idle.wake();
  }

  // ---- delivery -------------------------------------------------------------------------

  private async outbox(): Promise<OutboxStore> {
    this.store ??= new OutboxStore(await this.db(), randomUUID());
    return this.store;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        if (await this.deliverDue()) this.idle.reset();
      } catch (err) {
        this.logger.warn({ err }, 'Beams webhooks: delivery pass failed');
      }
      if (this.stopped) return;
      await this.idle.wait(this.idle.backOff());
    }
  }

  /** Sends every due row, pass after pass until one finds none; whether anything was sent. */
  private async deliverDue(): Promise<boolean> {
    const store = await this.outbox();
    let any = false;
    for (;;) {
      const now = Date.now();
      const endpoints = (await store.dueEndpoints(now)).filter((e) => e.appId.startsWith(APP_PREFIX));
      if (endpoints.length === 0 || this.stopped) return any;
      let sent = 0;
      await Promise.all(
        endpoints.map(async ({ appId, url }) => {
          const rows = await store.claim({ appId, url, now, maxEvents: 1, maxBytes: 1 << 20, leaseUntil: now + this.options.timeoutMs + 5000 });
          for (const row of rows) {
            await this.send(store, appId, url, row);
            sent++;
          }
        }),
      );
      if (sent === 0) return any;
      any = true;
    }
  }

  private async send(store: OutboxStore, appId: string, url: string, row: OutboxRow): Promise<void> {
    const request = JSON.parse(row.event) as StoredRequest;
    const instanceId = appId.slice(APP_PREFIX.length);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': 'pusher-webhooks',
      'Webhook-Event-Type': request.eventType,
      'Webhook-Request-ID-UUID': request.requestId,
    };
    const record: DeliveryRecord = { appId, url, at: Date.now(), outcome: 'delivered', events: 1, attempt: row.attempts + 1, sample: [{ name: request.eventType, channel: row.channel }] } ;
    if (request.webhookId) {
      const webhook = (await this.instances.get(instanceId))?.settings.webhooks.find((w) => w.id === request.webhookId);
      if (!webhook) {
        // Removed (or its instance deleted) since the event: nobody to sign for.
        await store.fail([], [row.id], Date.now(), { ...record, outcome: 'dropped', error: 'webhook no longer configured' }, { ...record, outcome: 'dropped', error: 'webhook no longer configured' });
        return;
      }
      headers['Webhook-ID-UUID'] = webhook.id;
      headers['Webhook-Signature'] = createHmac('sha1', webhook.secret).update(request.body).digest('hex');
    }
    const body = Buffer.from(request.body, 'utf8');
    headers['Content-Length'] = String(body.length);
    const result = await this.http.post(url, { body, headers }, this.options.timeoutMs);
    const done: DeliveryRecord = { ...record, at: Date.now(), statusCode: result.statusCode, latencyMs: Math.round(result.latencyMs) };
    if (result.ok) {
      await store.complete([row.id], done);
      return;
    }
    const failure = { ...done, outcome: 'failed' as const, error: result.error };
    const delays = this.options.retryDelaysMs;
    if (row.attempts >= delays.length) {
      this.logger.warn({ url, eventType: request.eventType, attempts: row.attempts + 1 }, 'Beams webhook given up');
      await store.fail([], [row.id], Date.now(), failure, { ...failure, outcome: 'expired' });
    } else {
      const delayMs = delays[row.attempts]!;
      await store.fail([row.id], [], Date.now() + delayMs, failure);
      // Sent when due, not at the next idle check; failures within pollMs of each other share a wake-up.
      this.idle.wakeIn(delayMs, this.options.pollMs);
    }
  }
}

export function isBeamsOutboxApp(appId: string): boolean {
  return appId.startsWith(APP_PREFIX);
}

export type { BeamsInstance };
