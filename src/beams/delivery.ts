/**
 * The delivery worker: runs publishes off the request path from the durable queue (publishes.ts).
 *
 * For each claimed job it streams the target devices from the database in pages (keyset order by
 * device id; the next page is fetched while the current one is being sent), sends every page with
 * a bounded number of concurrent requests, removes devices whose tokens a gateway rejected for good,
 * and saves the cursor + counters before moving on. Memory is bounded by two pages per job and
 * `maxJobs` jobs. On shutdown in-flight sends are cancelled and the job is put back in the queue at
 * its last saved cursor, so the next start (on any node) carries on.
 */
import { EventEmitter, setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../platform/logger.js';
import type { InstanceStore } from './instances.js';
import { preparePublish, type PreparedPublish } from './payloads.js';
import type { InstanceProviders, ProviderPool } from './providers/pool.js';
import { failed, type SendOutcome } from './providers/types.js';
import { IdleBackoff } from './idle-backoff.js';
import { MAX_ATTEMPTS, type PublishJob, type PublishStore } from './publishes.js';
import type { DeviceStore, DeviceTarget } from './store.js';

export interface DeliveryOptions {
  /** Devices read from the database per page. */
  pageSize: number;
  /** Concurrent gateway requests per job. */
  concurrency: number;
  /** Jobs delivered at the same time by this node. */
  maxJobs: number;
  /** How often the queue is checked when idle (other nodes' publishes, retries). */
  pollMs: number;
  /**
   * The longest wait between checks while the queue stays empty: the wait doubles from pollMs
   * after each empty check (an idle node then queries its store every 15 s, not every second),
   * and a publish accepted here, a finished job or a retry falling due resets it. Keep it well
   * under leaseMs, so a job left by a node that died is still taken over soon after its lease ends.
   */
  maxIdlePollMs: number;
  /** A claimed job is taken over by another worker if not renewed within this time. */
  leaseMs: number;
  /** Retries of a retryable failure per device, with exponential back-off from retryDelayMs. */
  retries: number;
  retryDelayMs: number;
  /** Finished publishes are deleted after this many days. */
  retentionDays: number;
}

export const DEFAULT_DELIVERY_OPTIONS: DeliveryOptions = {
  pageSize: 1000,
  concurrency: 100,
  maxJobs: 2,
  pollMs: 1000,
  maxIdlePollMs: 15_000,
  leaseMs: 60_000,
  retries: 2,
  retryDelayMs: 250,
  retentionDays: 7,
};

interface Deps {
  publishes: PublishStore;
  devices: DeviceStore;
  instances: InstanceStore;
  providers: ProviderPool;
  logger: Logger;
}

interface PageResult {
  attempted: number;
  delivered: number;
  failed: number;
  invalid: DeviceTarget[];
  lastError?: string;
  deliveredUsers: Set<string>;
  failedUsers: Set<string>;
}

/** Totals of one run of a publish job. */
export interface PublishTotals {
  devices: number;
  delivered: number;
  failed: number;
  removed: number;
  lastError: string | undefined;
}

/**
 * Events: 'job-finished' (publishId, status), 'job-released' (publishId), and for Beams webhooks
 * 'publish-started' (job, on its first run) and 'publish-finished' (job, totals, {delivered, failed} user ids).
 */
export class DeliveryWorker extends EventEmitter {
  readonly owner = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly options: DeliveryOptions;
  private readonly abort = new AbortController();
  private readonly active = new Set<Promise<void>>();
  private running = false;
  private loopDone?: Promise<void>;
  private nextPurge = 0;
  /** Idle waits: pollMs after activity, doubling up to maxIdlePollMs while the queue is empty. */
  private readonly idle: IdleBackoff;

  constructor(
    private readonly deps: Deps,
    options: Partial<DeliveryOptions> = {},
  ) {
    super();
    this.options = { ...DEFAULT_DELIVERY_OPTIONS, ...options };
    this.idle = new IdleBackoff(this.options.pollMs, this.options.maxIdlePollMs);
    // Every in-flight send listens for shutdown: up to concurrency × maxJobs listeners, by design.
    setMaxListeners(0, this.abort.signal);
  }

  get started(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running || this.abort.signal.aborted) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Checks the queue now (a publish was just written). */
  wake(): void {
    this.idle.wake();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    this.idle.close();
    await this.loopDone;
    await Promise.allSettled([...this.active]);
  }

  private async loop(): Promise<void> {
    const { logger, publishes } = this.deps;
    while (this.running) {
      if (this.active.size >= this.options.maxJobs) {
        await this.idle.wait(this.options.pollMs);
        continue;
      }
      let job: PublishJob | undefined;
      try {
        await this.purgeIfDue();
        job = await publishes.claim(this.owner, this.options.leaseMs);
      } catch (err) {
        if (!this.running) break;
        logger.warn({ err }, 'Beams delivery: cannot read the publish queue');
        await this.idle.wait(this.options.pollMs * 5);
        continue;
      }
      if (!job) {
        await this.idle.wait(this.idle.backOff());
        continue;
      }
      this.idle.reset();
      const run: Promise<void> = this.runJob(job)
        .catch((err) => logger.error({ err, publishId: job.id }, 'Beams delivery failed'))
        .finally(() => {
          this.active.delete(run);
          this.wake();
        });
      this.active.add(run);
    }
  }

  private async purgeIfDue(): Promise<void> {
    if (Date.now() < this.nextPurge) return;
    this.nextPurge = Date.now() + 60 * 60_000;
    const purged = await this.deps.publishes.purgeFinished(this.options.retentionDays);
    if (purged > 0) this.deps.logger.info({ purged }, 'Beams: old publishes deleted');
  }

  private async runJob(job: PublishJob): Promise<void> {
    const { publishes, devices, instances, providers, logger } = this.deps;
    const { leaseMs, pageSize } = this.options;
    const signal = this.abort.signal;
    const renew = setInterval(() => void publishes.renewLease(job.id, this.owner, leaseMs).catch(() => undefined), Math.max(1000, leaseMs / 3));
    renew.unref();
    try {
      const instance = await instances.get(job.instanceId);
      if (!instance) {
        await publishes.finish(job.id, this.owner, 'failed', 'instance no longer exists');
        return;
      }
      if (job.attempts > MAX_ATTEMPTS) {
        await publishes.finish(job.id, this.owner, 'failed', `gave up after ${MAX_ATTEMPTS} attempts`);
        this.emit('job-finished', job.id, 'failed');
        return;
      }
      const prepared = preparePublish(job.payload, instance.id, job.id);
      const gateways = providers.for(instance);
      const fetchPage = (after: string) =>
        job.kind === 'interests'
          ? devices.pageByInterests(instance.id, job.targets, after, pageSize)
          : devices.pageByUsers(instance.id, job.targets, after, pageSize);

      const totals = { devices: 0, delivered: 0, failed: 0, removed: 0, lastError: undefined as string | undefined };
      // Users reached / not reached by this run of the job (Beams' v1.PublishToUsersAttempt webhook).
      const deliveredUsers = new Set<string>();
      const failedUsers = new Set<string>();
      if (job.cursor === '') this.emit('publish-started', job);
      let next = fetchPage(job.cursor);
      for (;;) {
        const page = await next;
        if (page.length === 0) break;
        const cursor = page[page.length - 1]!.id;
        next = page.length < pageSize ? Promise.resolve([]) : fetchPage(cursor);
        next.catch(() => undefined);
        const result = await this.sendPage(page, prepared, gateways, signal);
        if (signal.aborted) {
          // Not saved: this page is sent again after the restart (at-least-once).
          await publishes.release(job.id, this.owner);
          this.emit('job-released', job.id);
          return;
        }
        const removed = await devices.removeInvalid(instance.id, result.invalid);
        const kept = await publishes.saveProgress(
          job.id,
          this.owner,
          { cursor, devices: result.attempted, delivered: result.delivered, failed: result.failed, removed, error: result.lastError },
          leaseMs,
        );
        if (!kept) {
          logger.warn({ publishId: job.id }, 'Beams delivery: lease lost to another worker; stopping here');
          return;
        }
        totals.devices += result.attempted;
        totals.delivered += result.delivered;
        totals.failed += result.failed;
        totals.removed += removed;
        totals.lastError = result.lastError ?? totals.lastError;
        for (const user of result.deliveredUsers) deliveredUsers.add(user);
        for (const user of result.failedUsers) failedUsers.add(user);
        this.emit('page', job.id, result.attempted);
      }
      await publishes.finish(job.id, this.owner, 'done');
      // One line per publish (this run of it), never one per device.
      logger.info({ publishId: job.id, instanceId: instance.id, ...totals }, 'Beams publish delivered');
      this.emit('publish-finished', job, totals, { delivered: deliveredUsers, failed: failedUsers });
      this.emit('job-finished', job.id, 'done');
    } catch (err) {
      if (signal.aborted) {
        await publishes.release(job.id, this.owner).catch(() => undefined);
        this.emit('job-released', job.id);
        return;
      }
      const delayMs = Math.min(60_000, 1000 * 2 ** Math.min(job.attempts, 6));
      logger.warn({ err, publishId: job.id, delayMs }, 'Beams delivery interrupted; retrying later');
      await publishes.release(job.id, this.owner, delayMs, (err as Error).message).catch(() => undefined);
      // Check again when the retry falls due, whatever the idle wait has grown to by then.
      this.idle.wakeIn(delayMs);
    } finally {
      clearInterval(renew);
    }
  }

  private async sendPage(page: DeviceTarget[], prepared: PreparedPublish, gateways: InstanceProviders, signal: AbortSignal): Promise<PageResult> {
    const result: PageResult = { attempted: 0, delivered: 0, failed: 0, invalid: [], deliveredUsers: new Set(), failedUsers: new Set() };
    let index = 0;
    const lane = async () => {
      while (index < page.length && !signal.aborted) {
        const device = page[index++]!;
        const outcome = await this.sendWithRetries(device, prepared, gateways, signal);
        if (!outcome || signal.aborted) continue;
        result.attempted++;
        if (outcome.kind === 'delivered') {
          result.delivered++;
          if (device.userId !== undefined) result.deliveredUsers.add(device.userId);
        } else if (outcome.kind === 'invalid-token') result.invalid.push(device);
        else {
          result.failed++;
          if (device.userId !== undefined) result.failedUsers.add(device.userId);
          result.lastError = `${device.platform}: ${outcome.reason}`;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, page.length) }, lane));
    return result;
  }

  /** undefined when the publish has no payload for the device's platform (nothing to send). */
  private async sendWithRetries(device: DeviceTarget, prepared: PreparedPublish, gateways: InstanceProviders, signal: AbortSignal): Promise<SendOutcome | undefined> {
    const attempt = (): Promise<SendOutcome> | undefined => {
      switch (device.platform) {
        case 'apns':
          if (!prepared.apns) return undefined;
          return gateways.apns ? gateways.apns.send(device, prepared.apns, signal) : Promise.resolve(failed('APNs is not configured for this instance', false));
        case 'fcm':
          if (!prepared.fcm) return undefined;
          return gateways.fcm ? gateways.fcm.send(device, prepared.fcm, signal) : Promise.resolve(failed('FCM is not configured for this instance', false));
        case 'web':
          return prepared.web ? gateways.web.send(device, prepared.web, signal) : undefined;
        default:
          return undefined;
      }
    };
    for (let retry = 0; ; retry++) {
      let outcome: SendOutcome;
      try {
        const pending = attempt();
        if (!pending) return undefined;
        outcome = await pending;
      } catch (err) {
        outcome = failed(`provider error: ${(err as Error).message}`, false);
      }
      if (outcome.kind !== 'failed' || !outcome.retryable || retry >= this.options.retries || signal.aborted) return outcome;
      await sleep(outcome.retryAfterMs ?? this.options.retryDelayMs * 2 ** retry, signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
