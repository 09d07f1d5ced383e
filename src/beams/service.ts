/**
 * The Beams capability as one object (provided as BEAMS_SERVICE for other modules such as
 * the console or GraphQL): stores, the delivery worker, provider pool and publish rate limiter.
 */
import type { Logger } from '../platform/logger.js';
import { serviceKey } from '../platform/module-graph.js';
import type { Database } from '../storage/database.js';
import { DeliveryWorker, type DeliveryOptions } from './delivery.js';
import { BeamsError, bearerToken, instanceNotFound, missingInstanceId } from './errors.js';
import { InstanceStore, type BeamsInstance } from './instances.js';
import { oversizedPlatform, preparePublish } from './payloads.js';
import { ProviderPool } from './providers/pool.js';
import { PublishStore } from './publishes.js';
import { TokenBuckets } from '../platform/token-buckets.js';
import { DeviceStore } from './store.js';
import { safeEqual } from '../protocol/signatures.js';
import type { HttpContext } from '../platform/router.js';
import type { PublishRequest } from './validation.js';
import { BeamsWebhooks, type BeamsWebhookOptions } from './webhooks.js';
import type { PublishJob } from './publishes.js';
import type { PublishTotals } from './delivery.js';

export class BeamsService {
  readonly instances: InstanceStore;
  readonly devices: DeviceStore;
  readonly publishes: PublishStore;
  readonly providers: ProviderPool;
  readonly worker: DeliveryWorker;
  readonly webhooks: BeamsWebhooks;
  private readonly limiter = new TokenBuckets(10_000);

  constructor(
    db: () => Promise<Database>,
    readonly logger: Logger,
    delivery: Partial<DeliveryOptions> = {},
    webhookOptions: Partial<BeamsWebhookOptions> = {},
  ) {
    this.instances = new InstanceStore(db);
    this.devices = new DeviceStore(db);
    this.publishes = new PublishStore(db);
    this.providers = new ProviderPool();
    this.worker = new DeliveryWorker({ publishes: this.publishes, devices: this.devices, instances: this.instances, providers: this.providers, logger }, delivery);
    this.webhooks = new BeamsWebhooks(db, this.instances, logger, webhookOptions);
    const failed = (err: unknown) => logger.warn({ err }, 'Beams webhook could not be queued');
    this.worker.on('publish-started', (job: PublishJob) => void this.webhooks.publishHook(job, 'STARTED').catch(failed));
    this.worker.on('publish-finished', (job: PublishJob, totals: PublishTotals, reached: { delivered: Set<string>; failed: Set<string> }) => {
      void (async () => {
        await this.webhooks.publishHook(job, 'FINISHED', totals);
        if (job.kind === 'users') await this.webhooks.publishToUsersAttempt(job, reached, await this.devices.usersWithDevices(job.instanceId, job.targets));
      })().catch(failed);
    });
  }

  /** The instance named in the path, or 404 (every Beams API call starts here). */
  async instance(id: string): Promise<BeamsInstance> {
    if (!id) throw missingInstanceId();
    const instance = await this.instances.get(id);
    if (!instance) throw instanceNotFound();
    // The first Beams request starts delivery (a Herald without Beams never opens the database for it).
    this.worker.start();
    return instance;
  }

  /** Checks `Authorization: Bearer <secret key>` (constant-time) for the Publish and Customer APIs. */
  async authenticated(ctx: HttpContext, instanceId: string): Promise<BeamsInstance> {
    const token = bearerToken(ctx);
    if (token === undefined) throw new BeamsError('invalid', 'Incomplete Request', 'Authorization header is missing');
    const instance = await this.instance(instanceId);
    if (!safeEqual(token, instance.secretKey)) throw new BeamsError('unauthorized', 'Unauthorized', 'Incorrect API Key');
    return instance;
  }

  /** Queues a validated publish for delivery and returns its id. */
  async publish(instance: BeamsInstance, request: PublishRequest): Promise<string> {
    if (!this.limiter.take(instance.id, instance.settings.limits.publishesPerSecond)) {
      throw new BeamsError('rate_limited', 'Rate Limited', `Too many requests being made in quick succession (max ${instance.settings.limits.publishesPerSecond} RPS)`);
    }
    const oversized = oversizedPlatform(preparePublish(request.payload, instance.id, 'pubid-00000000-0000-0000-0000-000000000000'));
    if (oversized) throw new BeamsError('unprocessable', 'Unprocessable Entity', `The ${oversized} payload is too large for its gateway`);
    const id = await this.publishes.create(instance.id, request);
    this.worker.start();
    this.worker.wake();
    return id;
  }

  /** Forgets cached state of an instance changed or deleted through the admin API or CLI. */
  instanceChanged(id: string): void {
    this.instances.invalidate(id);
    this.providers.forget(id);
  }

  async close(): Promise<void> {
    await this.worker.stop();
    await this.webhooks.stop();
    this.providers.closeAll();
  }
}

export const BEAMS_SERVICE = serviceKey<BeamsService>('beams');
