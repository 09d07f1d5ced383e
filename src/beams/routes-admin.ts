/**
 * Admin API for Beams instances, guarded by `Authorization: Bearer <HERALD_ADMIN_TOKEN>`
 * (constant-time). Without an admin token configured the API is disabled (403).
 *
 *   GET    /admin/beams/instances                      list
 *   POST   /admin/beams/instances                      create {id?, name?, secretKey?, apns?, fcm?, web?, limits?}
 *   GET    /admin/beams/instances/{id}                 show (private keys hidden) + device counts
 *   PATCH  /admin/beams/instances/{id}                 update (apns/fcm: null removes)
 *   POST   /admin/beams/instances/{id}/rotate-secret   new secret key
 *   DELETE /admin/beams/instances/{id}                 delete with all devices and publishes
 *   GET    /admin/beams/instances/{id}/publishes       recent publishes and their status (?limit=1-200, 20)
 */
import { sendJson } from '../platform/http-context.js';
import type { HttpContext, Router } from '../platform/router.js';
import { conflict, forbidden, invalid, notFound, unauthorized } from '../platform/errors.js';
import { safeEqual } from '../protocol/signatures.js';
import { describeInstance, InstanceConflictError, type InstanceInput } from './instances.js';
import type { BeamsService } from './service.js';
import { SettingsError } from './settings.js';

const BASE = '/admin/beams/instances';
const INPUT_KEYS = new Set(['id', 'name', 'secretKey', 'apns', 'fcm', 'web', 'limits', 'webhooks']);

export function checkAdmin(ctx: HttpContext, adminToken: string | undefined): void {
  if (!adminToken) throw forbidden('Admin API disabled: set HERALD_ADMIN_TOKEN');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(ctx.req.headers.authorization ?? '');
  if (!match || !safeEqual(match[1]!, adminToken)) throw unauthorized('Invalid or missing admin token (Authorization: Bearer <admin token>)');
}

/** Checks an admin/console instance body: an object of known fields (400 otherwise). */
export function instanceInput(body: unknown): InstanceInput {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalid('Body must be a JSON object');
  const unknown = Object.keys(body).filter((k) => !INPUT_KEYS.has(k));
  if (unknown.length > 0) throw invalid(`Unknown field(s): ${unknown.join(', ')} (allowed: ${[...INPUT_KEYS].join(', ')})`);
  return body as InstanceInput;
}

async function readInput(ctx: HttpContext): Promise<InstanceInput> {
  return instanceInput(await ctx.json<unknown>());
}

/** Settings and id conflicts as HTTP errors (400, 409); anything else propagates (500). */
export function translate(err: unknown): never {
  if (err instanceof SettingsError) throw invalid(err.message);
  if (err instanceof InstanceConflictError) throw conflict(err.message);
  throw err;
}

export function registerAdminRoutes(router: Router, service: BeamsService, adminToken: string | undefined): void {
  const route = (method: string, path: string, handler: (ctx: HttpContext) => Promise<void>) =>
    router.add(method, path, async (ctx) => {
      checkAdmin(ctx, adminToken);
      await handler(ctx);
    });

  const show = async (ctx: HttpContext, status = 200) => {
    const instance = await service.instances.get(ctx.params.instanceId!);
    if (!instance) throw notFound(`Beams instance ${ctx.params.instanceId} not found`);
    sendJson(ctx.res, status, { ...describeInstance(instance), devices: await service.devices.countByPlatform(instance.id) });
  };

  route('GET', BASE, async (ctx) => {
    const instances = await service.instances.list();
    sendJson(ctx.res, 200, { instances: instances.map(describeInstance) });
  });

  route('POST', BASE, async (ctx) => {
    const input = await readInput(ctx);
    const instance = await service.instances.create(input).catch(translate);
    service.worker.start();
    sendJson(ctx.res, 201, describeInstance(instance));
  });

  route('GET', `${BASE}/:instanceId`, (ctx) => show(ctx));

  route('PATCH', `${BASE}/:instanceId`, async (ctx) => {
    const { id, ...patch } = await readInput(ctx);
    if (id !== undefined && id !== ctx.params.instanceId) throw invalid('The instance id cannot be changed');
    const updated = await service.instances.update(ctx.params.instanceId!, patch).catch(translate);
    if (!updated) throw notFound(`Beams instance ${ctx.params.instanceId} not found`);
    service.instanceChanged(updated.id);
    await show(ctx);
  });

  route('POST', `${BASE}/:instanceId/rotate-secret`, async (ctx) => {
    const updated = await service.instances.update(ctx.params.instanceId!, { rotateSecret: true }).catch(translate);
    if (!updated) throw notFound(`Beams instance ${ctx.params.instanceId} not found`);
    service.instanceChanged(updated.id);
    sendJson(ctx.res, 200, { id: updated.id, secretKey: updated.secretKey });
  });

  route('GET', `${BASE}/:instanceId/publishes`, async (ctx) => {
    const instance = await service.instances.get(ctx.params.instanceId!);
    if (!instance) throw notFound(`Beams instance ${ctx.params.instanceId} not found`);
    const raw = ctx.queryValue('limit');
    const limit = raw === undefined || raw === '' ? 20 : Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw invalid('limit must be a whole number from 1 to 200');
    sendJson(ctx.res, 200, { publishes: await service.publishes.recent(instance.id, limit) });
  });

  route('DELETE', `${BASE}/:instanceId`, async (ctx) => {
    const deleted = await service.instances.delete(ctx.params.instanceId!);
    if (!deleted) throw notFound(`Beams instance ${ctx.params.instanceId} not found`);
    service.instanceChanged(ctx.params.instanceId!);
    sendJson(ctx.res, 200, { deleted: ctx.params.instanceId });
  });
}
