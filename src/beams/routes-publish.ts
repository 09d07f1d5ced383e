/**
 * Publish API (spec F.1): `POST /publish_api/v1/instances/{id}/publishes/interests|users`, authorized
 * with the instance secret key. The publish is stored and queued before answering `{publishId}`;
 * delivery happens in the background. `GET …/publishes/{publishId}` reports its progress (a Herald
 * extension; Beams has no such endpoint).
 */
import { sendJson } from '../platform/http-context.js';
import type { Router } from '../platform/router.js';
import { BeamsError, beamsRoute, readJsonObject } from './errors.js';
import type { BeamsService } from './service.js';
import { LIMITS, validatePublish } from './validation.js';

const BASE = '/publish_api/v1/instances/:instanceId/publishes';

export function registerPublishRoutes(router: Router, service: BeamsService): void {
  const { logger } = service;
  for (const kind of ['interests', 'users'] as const) {
    const [limit, label] = kind === 'interests' ? [LIMITS.interestsBodyBytes, '10KiB'] : [LIMITS.usersBodyBytes, '200KiB'];
    router.add(
      'POST',
      `${BASE}/${kind}`,
      beamsRoute(logger, async (ctx) => {
        const instance = await service.authenticated(ctx, ctx.params.instanceId!);
        const body = await readJsonObject(ctx, limit, label);
        const publishId = await service.publish(instance, validatePublish(kind, body));
        sendJson(ctx.res, 200, { publishId });
      }),
    );
  }

  router.add(
    'GET',
    `${BASE}/:publishId`,
    beamsRoute(logger, async (ctx) => {
      const instance = await service.authenticated(ctx, ctx.params.instanceId!);
      const publishId = ctx.params.publishId!;
      const status = publishId.length <= 100 ? await service.publishes.describe(instance.id, publishId) : undefined;
      if (!status) throw new BeamsError('not_found', 'Publish not found', 'Could not find the publish');
      sendJson(ctx.res, 200, status);
    }),
  );
}
