/**
 * The console's Beams pages: instances (list, create, rotate the secret key, provider
 * credentials), recent publishes and a test publish. Same validation and errors as the Beams admin
 * API (instanceInput, translate); the secret key is only in the create and rotate answers.
 */
import { validatePublish } from '../beams/validation.js';
import { instanceInput, translate } from '../beams/routes-admin.js';
import type { BeamsInstance } from '../beams/instances.js';
import { publicSettings } from '../beams/settings.js';
import { BEAMS_SERVICE } from '../beams/service.js';
import { sendJson } from '../platform/http-context.js';
import type { ModuleContext } from '../core/module.js';
import type { HttpContext } from '../platform/router.js';
import { invalid, notFound } from '../platform/errors.js';
import { objectBody, type ConsoleGuard } from './guard.js';

const BASE = '/console/api/beams/instances';

/** An instance without its secret key (provider private keys are already reduced to "[configured]"). */
function publicInstance(instance: BeamsInstance): Record<string, unknown> {
  return { id: instance.id, name: instance.name, ...publicSettings(instance.settings), createdAt: instance.createdAt.toISOString(), updatedAt: instance.updatedAt.toISOString() };
}

export function registerBeamsRoutes(ctx: ModuleContext, guard: ConsoleGuard): void {
  const { router } = ctx;
  const beamsService = ctx.later(BEAMS_SERVICE);
  const beams = () => {
    const service = beamsService();
    if (!service) throw notFound('Beams is not enabled on this server');
    return service;
  };
  const instanceOf = async (http: HttpContext) => {
    const instance = await beams().instances.get(http.params.instanceId!);
    if (!instance) throw notFound(`Beams instance ${http.params.instanceId!.slice(0, 100)} not found`);
    return instance;
  };

  router.add('GET', BASE, async (http) => {
    guard.admin(http);
    const service = beamsService();
    if (!service) {
      sendJson(http.res, 200, { available: false, instances: [] });
      return;
    }
    const instances = await service.instances.list();
    const withDevices = await Promise.all(instances.map(async (i) => ({ ...publicInstance(i), devices: await service.devices.countByPlatform(i.id) })));
    sendJson(http.res, 200, { available: true, instances: withDevices });
  });

  router.add('POST', BASE, async (http) => {
    guard.write(http);
    const service = beams();
    const input = instanceInput(await objectBody(http));
    const instance = await service.instances.create(input).catch(translate);
    service.worker.start();
    sendJson(http.res, 201, { instance: publicInstance(instance), secretKey: instance.secretKey });
  });

  router.add('PATCH', `${BASE}/:instanceId`, async (http) => {
    guard.write(http);
    const service = beams();
    const { id, secretKey, ...patch } = instanceInput(await objectBody(http));
    if (id !== undefined && id !== http.params.instanceId) throw invalid('The instance id cannot be changed');
    if (secretKey !== undefined) throw invalid('secretKey cannot be set here: use "Rotate secret key"');
    const updated = await service.instances.update(http.params.instanceId!, patch).catch(translate);
    if (!updated) throw notFound(`Beams instance ${http.params.instanceId!.slice(0, 100)} not found`);
    service.instanceChanged(updated.id);
    sendJson(http.res, 200, { instance: publicInstance(updated) });
  });

  router.add('POST', `${BASE}/:instanceId/rotate-secret`, async (http) => {
    guard.write(http);
    const service = beams();
    const updated = await service.instances.update(http.params.instanceId!, { rotateSecret: true }).catch(translate);
    if (!updated) throw notFound(`Beams instance ${http.params.instanceId!.slice(0, 100)} not found`);
    service.instanceChanged(updated.id);
    sendJson(http.res, 200, { id: updated.id, secretKey: updated.secretKey });
  });

  router.add('GET', `${BASE}/:instanceId/publishes`, async (http) => {
    guard.admin(http);
    const instance = await instanceOf(http);
    sendJson(http.res, 200, { publishes: await beams().publishes.recent(instance.id, 20) });
  });

  // A test publish through the same validation and queue as the Publish API.
  router.add('POST', `${BASE}/:instanceId/publish`, async (http) => {
    guard.write(http);
    const service = beams();
    const body = await objectBody(http);
    const notification = { title: String(body.title ?? ''), body: String(body.body ?? '') };
    let request;
    try {
      request = validatePublish('interests', { interests: [body.interest], web: { notification }, fcm: { notification }, apns: { aps: { alert: notification } } });
    } catch (err) {
      throw invalid((err as Error).message);
    }
    // Beams refusals (unknown instance, rate limit, oversized) are domain errors: the console's
    // edge answers them as any other, `{error}` with the description.
    const instance = await service.instance(http.params.instanceId!);
    sendJson(http.res, 200, { publishId: await service.publish(instance, request) });
  });
}
