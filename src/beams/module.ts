/**
 * Beams (push notifications) as a Herald module: the Publish, Device, Customer and reporting APIs
 * on Herald's port, the admin API for instances, and the background delivery worker.
 *
 * The database is opened only when Beams is used: at start when a default instance is configured
 * (HERALD_BEAMS_INSTANCE_ID / HERALD_BEAMS_SECRET_KEY) or a store already exists (pending
 * deliveries must resume after a restart), otherwise on the first Beams request.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { HeraldConfig } from '../config/schema.js';
import type { HeraldModule } from '../core/module.js';
import { DATABASE_SERVICE } from '../app-store/database-module.js';
import type { DeliveryOptions } from './delivery.js';
import type { BeamsWebhookOptions } from './webhooks.js';
import { BeamsError, beamsRoute, missingInstanceId } from './errors.js';
import './migrations.js';
import { registerAdminRoutes } from './routes-admin.js';
import { registerCustomerRoutes } from './routes-customer.js';
import { registerDeviceRoutes } from './routes-device.js';
import { registerInterestRoutes } from './routes-interests.js';
import { registerPublishRoutes } from './routes-publish.js';
import { BEAMS_SERVICE, BeamsService } from './service.js';

export interface BeamsModuleOptions {
  /** Tuning of the delivery worker (page size, concurrency, poll interval…). */
  delivery?: Partial<DeliveryOptions>;
  /** Tuning of Beams webhooks (retry delays, timeout). */
  webhooks?: Partial<BeamsWebhookOptions>;
}

const API_PREFIXES = ['publish_api', 'device_api', 'customer_api', 'user_api', 'reporting_api'];

/** True when a database that may hold queued publishes already exists. */
function storeExists(config: HeraldConfig): boolean {
  if (config.databaseUrl) return true;
  return Boolean(config.dataDir) && existsSync(join(config.dataDir, 'PG_VERSION'));
}

export function beamsModule(options: BeamsModuleOptions = {}): HeraldModule {
  let service: BeamsService | undefined;
  return {
    name: 'beams',
    provides: [BEAMS_SERVICE],
    needs: [DATABASE_SERVICE],
    async start(ctx) {
      const logger = ctx.logger.child({ module: 'beams' });
      service = new BeamsService(() => ctx.need(DATABASE_SERVICE)(), logger, options.delivery, options.webhooks);
      ctx.provide(BEAMS_SERVICE, service);
      registerPublishRoutes(ctx.router, service);
      registerDeviceRoutes(ctx.router, service);
      registerInterestRoutes(ctx.router, service);
      registerCustomerRoutes(ctx.router, service);
      registerAdminRoutes(ctx.router, service, ctx.config.adminToken);
      // Unknown paths under the Beams APIs still answer {error, description} (the SDKs need both).
      const notFound = beamsRoute(logger, (c) => {
        // The router matches no empty path segment, so `…/instances//…` (no instance id) lands here.
        if (/^\/[a-z_]+\/v\d+\/instances\/(\/|$)/.test(c.path)) throw missingInstanceId();
        throw new BeamsError('not_found', 'Not Found', `No Beams endpoint ${c.method} ${c.path.slice(0, 200)}`);
      });
      for (const prefix of API_PREFIXES) for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) ctx.router.add(method, `/${prefix}/*`, notFound);

      const { beamsInstanceId, beamsSecretKey } = ctx.config;
      if ((beamsInstanceId === undefined) !== (beamsSecretKey === undefined)) {
        throw new Error('Beams: set HERALD_BEAMS_INSTANCE_ID and HERALD_BEAMS_SECRET_KEY together');
      }
      if (beamsInstanceId && beamsSecretKey) {
        await service.instances.ensure(beamsInstanceId, beamsSecretKey);
        logger.info({ instanceId: beamsInstanceId }, 'Beams default instance ready');
        service.worker.start();
        service.webhooks.start();
      } else if (storeExists(ctx.config)) {
        service.worker.start();
        service.webhooks.start();
      }
    },
    async stop() {
      await service?.close();
    },
  };
}
