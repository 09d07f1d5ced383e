/**
 * Device interests (spec F.4, device-api.md): list (paginated), replace, add one, remove one.
 * Pagination cursors are opaque to clients (base64url of the last interest returned).
 */
import { sendJson } from '../platform/http-context.js';
import type { HttpContext, Router } from '../platform/router.js';
import { badRequest, BeamsError, beamsRoute, deviceNotFound, readJsonObject } from './errors.js';
import { DEVICE_BASE, platformParam, sendOk } from './routes-device.js';
import type { BeamsService } from './service.js';
import { interestError, isValidInterest, LIMITS } from './validation.js';

const PAGE_MAX = 100;

const invalidInterest = (value: unknown) => new BeamsError('invalid', 'Invalid interest name', interestError(value));

export function registerInterestRoutes(router: Router, service: BeamsService): void {
  const route = (method: string, path: string, handler: (ctx: HttpContext) => Promise<void>) =>
    router.add(method, `${DEVICE_BASE}/devices/:platform/:deviceId${path}`, beamsRoute(service.logger, handler));

  /** Resolves the instance and checks the device exists on that platform. */
  const device = async (ctx: HttpContext) => {
    const platform = platformParam(ctx);
    const instance = await service.instance(ctx.params.instanceId!);
    const found = await service.devices.get(instance.id, platform, ctx.params.deviceId!);
    if (!found) throw deviceNotFound();
    return { instanceId: instance.id, deviceId: found.id };
  };

  route('GET', '/interests', async (ctx) => {
    const rawLimit = ctx.queryValue('limit');
    const limit = rawLimit === undefined || rawLimit === '' ? PAGE_MAX : Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_MAX) throw badRequest('`limit` given is not valid');
    const rawCursor = ctx.queryValue('cursor') ?? '';
    const after = rawCursor === '' ? '' : Buffer.from(rawCursor, 'base64url').toString('utf8');
    if (rawCursor !== '' && !isValidInterest(after)) throw badRequest('`cursor` given is not valid');
    const { instanceId, deviceId } = await device(ctx);
    const page = await service.devices.listInterests(instanceId, deviceId, after, limit);
    const responseMetadata = page.nextCursor ? { nextCursor: Buffer.from(page.nextCursor, 'utf8').toString('base64url') } : {};
    sendJson(ctx.res, 200, { interests: page.interests, responseMetadata });
  });

  route('PUT', '/interests', async (ctx) => {
    const body = await readJsonObject(ctx, LIMITS.interestsSetBodyBytes, '1MiB');
    if (!Array.isArray(body.interests)) throw badRequest("'interests' must be an array of interest names");
    const interests = [...new Set(body.interests as unknown[])];
    if (interests.length > LIMITS.interestsPerDevice) {
      throw new BeamsError('invalid', 'Interest set too large', `Too many interests are being set for this device. Only ${LIMITS.interestsPerDevice} interests per device are allowed.`);
    }
    for (const interest of interests) if (!isValidInterest(interest)) throw invalidInterest(interest);
    const { instanceId, deviceId } = await device(ctx);
    await service.devices.setInterests(instanceId, deviceId, interests as string[]);
    sendOk(ctx);
  });

  route('POST', '/interests/:interest', async (ctx) => {
    const interest = ctx.params.interest!;
    if (!isValidInterest(interest)) throw invalidInterest(interest);
    const { instanceId, deviceId } = await device(ctx);
    if ((await service.devices.addInterest(instanceId, deviceId, interest)) === 'full') {
      throw new BeamsError('invalid', 'Interest set too large', `Only ${LIMITS.interestsPerDevice} interests per device are allowed.`);
    }
    sendOk(ctx);
  });

  route('DELETE', '/interests/:interest', async (ctx) => {
    const interest = ctx.params.interest!;
    if (!isValidInterest(interest)) throw invalidInterest(interest);
    const { instanceId, deviceId } = await device(ctx);
    await service.devices.removeInterest(instanceId, deviceId, interest);
    sendOk(ctx);
  });
}
