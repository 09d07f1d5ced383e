/**
 * Customer API (spec F.2): delete a user and all their devices. Beams documents
 * `/customer_api/v1/…`, but the Node server SDK 1.2.7 calls `/user_api/v1/…`: both are served.
 */
import type { Router } from '../platform/router.js';
import { badRequest, beamsRoute } from './errors.js';
import type { BeamsService } from './service.js';
import { isValidUserId, LIMITS } from './validation.js';

export function registerCustomerRoutes(router: Router, service: BeamsService): void {
  for (const prefix of ['/customer_api/v1', '/user_api/v1']) {
    router.add(
      'DELETE',
      `${prefix}/instances/:instanceId/users/:userId`,
      beamsRoute(service.logger, async (ctx) => {
        const instance = await service.authenticated(ctx, ctx.params.instanceId!);
        const userId = ctx.params.userId!;
        if (!isValidUserId(userId)) throw badRequest(`User id must be 1-${LIMITS.nameLength} bytes`);
        const removed = await service.devices.deleteUser(instance.id, userId);
        service.logger.debug({ instanceId: instance.id, removed }, 'Beams user deleted');
        // Empty 200: the server SDK resolves `undefined`.
        ctx.res.writeHead(200, { 'Content-Length': 0 }).end();
      }),
    );
  }
}
