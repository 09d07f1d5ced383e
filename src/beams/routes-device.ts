/**
 * Device API used by the client SDKs (spec F.4, device-api.md): VAPID key, device registration for
 * web / apns / fcm, device lookup and deletion, metadata and token updates, user association with
 * a Beams JWT, and the SDKs' delivery/open reports. No credentials: a device id is the capability
 * (ids are random UUIDs). Interests live in routes-interests.ts. CORS preflights are answered by
 * the shared HTTP layer (Access-Control-Allow-* for PUT/DELETE, Authorization and Content-Type).
 */
import { sendJson } from '../platform/http-context.js';
import type { HttpContext, Router } from '../platform/router.js';
import { badRequest, BeamsError, beamsRoute, bearerToken, deviceNotFound, readJsonObject } from './errors.js';
import { verifyUserToken } from './jwt.js';
import type { BeamsService } from './service.js';
import { webEndpointAllowed } from './settings.js';
import { decodeWebToken, isPlatform, LIMITS, validateMetadata, validateNativeToken, type Platform } from './validation.js';

export const DEVICE_BASE = '/device_api/v1/instances/:instanceId';

export function platformParam(ctx: HttpContext): Platform {
  const platform = ctx.params.platform!;
  if (!isPlatform(platform)) throw new BeamsError('not_found', 'Not Found', `Unsupported device platform '${platform.slice(0, 20)}' (use apns, fcm or web)`);
  return platform;
}

/** 200 with an empty body: both SDKs accept it (the web SDK tolerates non-JSON). */
export function sendOk(ctx: HttpContext): void {
  ctx.res.writeHead(200, { 'Content-Length': 0 }).end();
}

export function registerDeviceRoutes(router: Router, service: BeamsService): void {
  const route = (method: string, path: string, handler: (ctx: HttpContext) => Promise<void>) =>
    router.add(method, `${DEVICE_BASE}${path}`, beamsRoute(service.logger, handler));

  route('GET', '/web-vapid-public-key', async (ctx) => {
    const instance = await service.instance(ctx.params.instanceId!);
    sendJson(ctx.res, 200, { vapidPublicKey: instance.settings.web.vapidPublicKey });
  });

  route('POST', '/devices/:platform', async (ctx) => {
    const platform = platformParam(ctx);
    const instance = await service.instance(ctx.params.instanceId!);
    const body = await readJsonObject(ctx, LIMITS.deviceBodyBytes, '16KiB');
    const metadata = validateMetadata(body.metadata);
    let token: string;
    let bundleId: string | undefined;
    if (platform === 'web') {
      if (typeof body.token !== 'string' || body.token.length === 0) throw badRequest('Missing web push token');
      if (body.token.length > LIMITS.tokenLength) throw badRequest('Web push token is too long');
      const subscription = decodeWebToken(body.token);
      if (!webEndpointAllowed(instance.settings.web, subscription.endpoint)) {
        throw badRequest('The push service of this subscription is not allowed for this instance');
      }
      token = body.token;
    } else {
      token = validateNativeToken(platform, body.token);
      if (platform === 'apns') {
        if (typeof body.bundleIdentifier !== 'string' || body.bundleIdentifier.length === 0) throw badRequest('Missing App Bundle Identifier');
        if (body.bundleIdentifier.length > 255) throw badRequest('App Bundle Identifier is too long');
        bundleId = body.bundleIdentifier;
      }
    }
    const device = await service.devices.register(instance.id, platform, token, { bundleId, metadata });
    sendJson(ctx.res, 200, platform === 'web' ? { id: device.id } : { id: device.id, initialInterestSet: device.initialInterestSet });
  });

  route('GET', '/devices/:platform/:deviceId', async (ctx) => {
    const platform = platformParam(ctx);
    const instance = await service.instance(ctx.params.instanceId!);
    const device = await service.devices.get(instance.id, platform, ctx.params.deviceId!);
    if (!device) throw deviceNotFound();
    sendJson(ctx.res, 200, { id: device.id, userId: device.userId, metadata: device.metadata });
  });

  route('DELETE', '/devices/:platform/:deviceId', async (ctx) => {
    const platform = platformParam(ctx);
    const instance = await service.instance(ctx.params.instanceId!);
    // Idempotent, as in Beams: deleting an unknown device is not an error.
    await service.devices.delete(instance.id, platform, ctx.params.deviceId!);
    sendOk(ctx);
  });

  route('PUT', '/devices/:platform/:deviceId/metadata', async (ctx) => {
    const platform = platformParam(ctx);
    const instance = await service.instance(ctx.params.instanceId!);
    const metadata = validateMetadata(await readJsonObject(ctx, LIMITS.deviceBodyBytes, '16KiB'));
    if (!(await service.devices.updateMetadata(instance.id, platform, ctx.params.deviceId!, metadata))) throw deviceNotFound();
    sendOk(ctx);
  });

  route('PUT', '/devices/:platform/:deviceId/token', async (ctx) => {
    const platform = platformParam(ctx);
    const instance = await service.instance(ctx.params.instanceId!);
    const body = await readJsonObject(ctx, LIMITS.deviceBodyBytes, '16KiB');
    let token: string;
    if (platform === 'web') {
      if (typeof body.token !== 'string' || body.token.length > LIMITS.tokenLength) throw badRequest('Missing web push token');
      const subscription = decodeWebToken(body.token);
      if (!webEndpointAllowed(instance.settings.web, subscription.endpoint)) throw badRequest('The push service of this subscription is not allowed for this instance');
      token = body.token;
    } else {
      if (body.token === undefined) throw badRequest(`Missing token field with the ${platform === 'fcm' ? 'FCM Registration Id' : 'APNs device token'}`);
      token = validateNativeToken(platform, body.token);
    }
    const result = await service.devices.updateToken(instance.id, platform, ctx.params.deviceId!, token);
    if (result === 'not-found') throw deviceNotFound();
    if (result === 'conflict') throw badRequest('This token is already registered to another device');
    sendOk(ctx);
  });

  route('PUT', '/devices/:platform/:deviceId/user', async (ctx) => {
    const platform = platformParam(ctx);
    const instance = await service.instance(ctx.params.instanceId!);
    const userId = await verifyUserToken(bearerToken(ctx), instance.id, instance.secretKey);
    const result = await service.devices.setUser(instance.id, platform, ctx.params.deviceId!, userId);
    if (result === 'device-not-found') throw deviceNotFound();
    if (result === 'other-user') throw new BeamsError('invalid', 'Bad Request', 'A User Id is already associated with this device');
    if (result === 'too-many-devices') {
      throw new BeamsError('unprocessable', 'Unprocessable Entity', `User already has reached the maximum of ${LIMITS.devicesPerUserPerPlatform} devices`);
    }
    sendOk(ctx);
  });

  // Delivery / open acknowledgements from the service worker and native SDKs (best effort).
  router.add(
    'POST',
    '/reporting_api/v2/instances/:instanceId/events',
    beamsRoute(service.logger, async (ctx) => {
      const instance = await service.instance(ctx.params.instanceId!);
      const body = await readJsonObject(ctx, 4096, '4KiB');
      const event = body.event;
      if (typeof body.publishId !== 'string' || body.publishId.length > 100) throw badRequest("'publishId' must be a string");
      if (event !== 'delivery' && event !== 'open') throw badRequest("'event' must be 'delivery' or 'open'");
      await service.publishes.recordReport(instance.id, body.publishId, event);
      // Acknowledgement/open webhooks are about Authenticated Users: the user the reporting device
      // is associated with (the stored association wins over what the report says).
      const userId = await reportingUser(service, instance.id, body);
      if (userId !== undefined) await service.webhooks.userNotification(instance.id, body.publishId, userId, event);
      sendOk(ctx);
    }),
  );
}

async function reportingUser(service: BeamsService, instanceId: string, body: Record<string, unknown>): Promise<string | undefined> {
  const deviceId = body.deviceId;
  if (typeof deviceId === 'string' && deviceId.length <= 100) {
    const platform = deviceId.slice(0, deviceId.indexOf('-'));
    if (platform === 'web' || platform === 'apns' || platform === 'fcm') {
      const device = await service.devices.get(instanceId, platform, deviceId);
      if (device) return device.userId ?? undefined;
    }
  }
  const claimed = body.userId;
  return typeof claimed === 'string' && claimed.length > 0 && claimed.length <= 164 ? claimed : undefined;
}

