/**
 * Beams devices and interests: device, deviceInterests, registerDevice, deleteDevice and the three
 * interest mutations. Same validators and stores as the Device API (src/beams/routes-device.ts,
 * routes-interests.ts); BeamsErrors keep their message and become GraphQL error codes.
 */
import type { BeamsInstance } from '../../beams/instances.js';
import type { BeamsService } from '../../beams/service.js';
import { webEndpointAllowed } from '../../beams/settings.js';
import type { Device as StoredDevice } from '../../beams/store.js';
import { decodeWebToken, interestError, isValidInterest, LIMITS, validateMetadata, validateNativeToken, type Platform } from '../../beams/validation.js';
import { DomainError } from '../../platform/errors.js';
import { instanceFor, type GraphQLContext } from '../context/auth.js';
import { badInput, notFound, toGraphQLError } from '../errors.js';
import { pageSize } from '../limits.js';
import type { ResolverMap } from '../schema.js';

export type PlatformName = 'IOS' | 'ANDROID' | 'WEB';
const PLATFORM: Record<PlatformName, Platform> = { IOS: 'apns', ANDROID: 'fcm', WEB: 'web' };
const PLATFORM_NAME: Record<Platform, PlatformName> = { apns: 'IOS', fcm: 'ANDROID', web: 'WEB' };

/** Parent of Device fields; metadata is loaded on demand when only the id is known. */
export interface DeviceRef {
  instanceId: string;
  id: string;
  platform: Platform;
  userId: string | null;
  bundleId: string | null;
  metadata?: Record<string, string>;
}

const MAX_DEVICE_ID_LENGTH = 200;

export function toDeviceRef(instanceId: string, device: StoredDevice): DeviceRef {
  return { instanceId, id: device.id, platform: device.platform, userId: device.userId, bundleId: device.bundleId, metadata: device.metadata };
}

/** Runs a Beams service call, translating its errors. */
export async function beamsCall<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toGraphQLError(err);
  }
}

interface DeviceArgs {
  instanceId?: string;
  platform: PlatformName;
  deviceId: string;
}

/** The instance and the existing device an operation names, or NOT_FOUND. */
async function existingDevice(ctx: GraphQLContext, args: DeviceArgs): Promise<{ service: BeamsService; instance: BeamsInstance; device: StoredDevice }> {
  const { service, instance } = await instanceFor(ctx, args.instanceId);
  const found = args.deviceId.length <= MAX_DEVICE_ID_LENGTH ? await beamsCall(() => service.devices.get(instance.id, PLATFORM[args.platform], args.deviceId)) : undefined;
  if (!found) throw notFound('Could not find the device');
  return { service, instance, device: found };
}

function checkInterest(interest: string, field = 'interest'): string {
  if (!isValidInterest(interest)) throw badInput(interestError(interest), field);
  return interest;
}

function decodeCursor(after: string | null | undefined): string {
  if (!after) return '';
  const decoded = after.length <= 400 ? Buffer.from(after, 'base64url').toString('utf8') : '';
  if (!isValidInterest(decoded)) throw badInput('after is not a cursor from this API', 'after');
  return decoded;
}

async function interestPage(service: BeamsService, instanceId: string, deviceId: string, first: number, after: string) {
  const page = await beamsCall(() => service.devices.listInterests(instanceId, deviceId, after, first));
  return {
    interests: page.interests.map((name) => ({ name, deviceId })),
    nextCursor: page.nextCursor ? Buffer.from(page.nextCursor, 'utf8').toString('base64url') : null,
  };
}

/** The token checks of POST /device_api/…/devices/{platform}. */
function registrationToken(instance: BeamsInstance, platform: Platform, token: string, bundleIdentifier: string | null | undefined): { token: string; bundleId?: string } {
  if (platform === 'web') {
    if (token.length === 0) throw badInput('Missing web push token', 'token');
    if (token.length > LIMITS.tokenLength) throw badInput('Web push token is too long', 'token');
    const subscription = decodeWebToken(token);
    if (!webEndpointAllowed(instance.settings.web, subscription.endpoint)) {
      throw badInput('The push service of this subscription is not allowed for this instance', 'token');
    }
    return { token };
  }
  const checked = nativeToken(platform, token);
  if (platform !== 'apns') return { token: checked };
  if (!bundleIdentifier) throw badInput('Missing App Bundle Identifier (bundleIdentifier is required for iOS)', 'bundleIdentifier');
  if (bundleIdentifier.length > 255) throw badInput('App Bundle Identifier is too long', 'bundleIdentifier');
  return { token: checked, bundleId: bundleIdentifier };
}

/**
 * The Device API answers a malformed APNs/FCM token with Beams' 401 (kept there for the client
 * SDKs); over GraphQL it is the caller's input, not their credentials: BAD_USER_INPUT on `token`.
 */
function nativeToken(platform: 'apns' | 'fcm', token: string): string {
  try {
    return validateNativeToken(platform, token);
  } catch (err) {
    if (err instanceof DomainError) throw badInput(err.message, 'token');
    throw err;
  }
}

function uniqueInterests(interests: string[], field: string): string[] {
  const unique = [...new Set(interests)];
  if (unique.length > LIMITS.interestsPerDevice) {
    throw badInput(`Too many interests are being set for this device. Only ${LIMITS.interestsPerDevice} interests per device are allowed.`, field);
  }
  for (const interest of unique) checkInterest(interest, field);
  return unique;
}

async function refreshed(service: BeamsService, instanceId: string, platform: Platform, deviceId: string): Promise<DeviceRef> {
  const device = await beamsCall(() => service.devices.get(instanceId, platform, deviceId));
  // Deleted concurrently: report what the caller asked about rather than failing.
  if (!device) throw notFound('Could not find the device');
  return toDeviceRef(instanceId, device);
}

export const beamsDeviceResolvers: ResolverMap = {
  Query: {
    device: async (_root, args: DeviceArgs, ctx) => {
      const { instance, device } = await existingDevice(ctx, args);
      return toDeviceRef(instance.id, device);
    },
    deviceInterests: async (_root, args: DeviceArgs & { first?: number; after?: string | null }, ctx) => {
      const first = pageSize(args.first);
      const after = decodeCursor(args.after);
      const { service, instance, device } = await existingDevice(ctx, args);
      return interestPage(service, instance.id, device.id, first, after);
    },
  },

  Mutation: {
    registerDevice: async (
      _root,
      args: { instanceId?: string; input: { platform: PlatformName; token: string; bundleIdentifier?: string | null; metadata?: unknown; interests?: string[] | null } },
      ctx,
    ) => {
      const { service, instance } = await instanceFor(ctx, args.instanceId);
      const { input } = args;
      const platform = PLATFORM[input.platform];
      const registration = await beamsCall(() => {
        const metadata = validateMetadata(input.metadata);
        const checked = registrationToken(instance, platform, input.token, input.bundleIdentifier);
        return { metadata, ...checked };
      });
      const wanted = input.interests ? uniqueInterests(input.interests, 'input.interests') : [];
      const registered = await beamsCall(() =>
        service.devices.register(instance.id, platform, registration.token, { bundleId: registration.bundleId, metadata: registration.metadata }),
      );
      if (wanted.length > 0) {
        const all = [...new Set([...registered.initialInterestSet, ...wanted])];
        if (all.length > LIMITS.interestsPerDevice) throw badInput(`Only ${LIMITS.interestsPerDevice} interests per device are allowed.`, 'input.interests');
        await beamsCall(() => service.devices.setInterests(instance.id, registered.id, all));
      }
      return refreshed(service, instance.id, platform, registered.id);
    },

    deleteDevice: async (_root, args: DeviceArgs, ctx) => {
      const { service, instance } = await instanceFor(ctx, args.instanceId);
      const deleted = args.deviceId.length <= MAX_DEVICE_ID_LENGTH && (await beamsCall(() => service.devices.delete(instance.id, PLATFORM[args.platform], args.deviceId)));
      // Idempotent, as the Device API: deleting an unknown device is not an error.
      return { ok: true, message: deleted ? 'Device deleted' : 'No such device: nothing to delete', affected: deleted ? 1 : 0, errors: [] };
    },

    addDeviceInterest: async (_root, args: DeviceArgs & { interest: string }, ctx) => {
      const interest = checkInterest(args.interest);
      const { service, instance, device } = await existingDevice(ctx, args);
      if ((await beamsCall(() => service.devices.addInterest(instance.id, device.id, interest))) === 'full') {
        throw badInput(`Only ${LIMITS.interestsPerDevice} interests per device are allowed.`, 'interest');
      }
      return toDeviceRef(instance.id, device);
    },

    removeDeviceInterest: async (_root, args: DeviceArgs & { interest: string }, ctx) => {
      const interest = checkInterest(args.interest);
      const { service, instance, device } = await existingDevice(ctx, args);
      await beamsCall(() => service.devices.removeInterest(instance.id, device.id, interest));
      return toDeviceRef(instance.id, device);
    },

    setDeviceInterests: async (_root, args: DeviceArgs & { interests: string[] }, ctx) => {
      const interests = uniqueInterests(args.interests, 'interests');
      const { service, instance, device } = await existingDevice(ctx, args);
      await beamsCall(() => service.devices.setInterests(instance.id, device.id, interests));
      return toDeviceRef(instance.id, device);
    },
  },

  Device: {
    platform: (ref: DeviceRef) => PLATFORM_NAME[ref.platform],
    info: async (ref: DeviceRef, _args, ctx: GraphQLContext) => {
      let metadata = ref.metadata;
      let bundleId = ref.bundleId;
      if (!metadata) {
        const { service } = await instanceFor(ctx, ref.instanceId);
        const device = await beamsCall(() => service.devices.get(ref.instanceId, ref.platform, ref.id));
        metadata = device?.metadata ?? {};
        bundleId = device?.bundleId ?? bundleId;
      }
      return {
        sdkVersion: metadata.sdkVersion ?? null,
        osVersion: metadata.iosVersion ?? metadata.androidVersion ?? null,
        bundleIdentifier: bundleId,
        metadata,
      };
    },
    interests: async (ref: DeviceRef, args: { first?: number; after?: string | null }, ctx: GraphQLContext) => {
      const first = pageSize(args.first);
      const after = decodeCursor(args.after);
      const { service } = await instanceFor(ctx, ref.instanceId);
      return interestPage(service, ref.instanceId, ref.id, first, after);
    },
  },
};
