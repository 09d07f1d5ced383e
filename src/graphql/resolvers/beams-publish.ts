/**
 * Beams publishing and users: sendBeamsNotification, generateBeamsToken, deleteBeamsUser and
 * beamsUser. A notification is built into the Beams request body (apns / fcm / web sections), then
 * goes through the Publish API's own `validatePublish`, body-size limits and `service.publish`
 * (rate limit, payload-size check, durable queue). Tokens are the JWTs the Device API verifies.
 */
import { SignJWT } from 'jose';
import { expectedIssuer } from '../../beams/jwt.js';
import { isValidUserId, LIMITS, validatePublish } from '../../beams/validation.js';
import { instanceFor } from '../context/auth.js';
import { badInput } from '../errors.js';
import type { ResolverMap } from '../schema.js';
import { beamsCall, type DeviceRef } from './beams-devices.js';

type Priority = 'LOW' | 'NORMAL' | 'HIGH';
type Json = Record<string, unknown>;

interface NotificationInput {
  interests?: string[] | null;
  users?: string[] | null;
  payload: { web?: Json | null; android?: Json | null; ios?: Json | null };
  priority?: Priority | null;
  webhookUrl?: string | null;
}

/** Beams tokens live 24 hours, as the server SDKs issue them. */
const TOKEN_TTL_SECONDS = 24 * 60 * 60;
/** The most devices a user can have: 100 per platform. */
const MAX_USER_DEVICES = LIMITS.devicesPerUserPerPlatform * 3;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Drops undefined/null values so absent inputs do not reach the gateways. */
function defined(fields: Json): Json {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== null));
}

function extra(section: Json, field: string): Json {
  const value = section.extra;
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw badInput(`${field}.extra must be a JSON object`, `${field}.extra`);
  return value;
}

function buildWeb(web: Json): Json {
  const notification = defined({
    title: web.title,
    body: web.body,
    icon: web.icon,
    deep_link: web.deepLink,
    hide_notification_if_site_has_focus: web.hideNotificationIfSiteHasFocus,
  });
  return { ...defined({ notification, data: web.data, time_to_live: web.timeToLive }), ...extra(web, 'payload.web') };
}

function buildFcm(android: Json, priority: Priority | undefined): Json {
  const notification = defined({
    title: android.title,
    body: android.body,
    icon: android.icon,
    sound: android.sound,
    tag: android.tag,
    color: android.color,
    click_action: android.clickAction,
  });
  const level = (android.priority as Priority | null | undefined) ?? priority;
  const fcmPriority = level === 'HIGH' ? 'high' : level === 'LOW' ? 'normal' : undefined;
  const section = defined({ data: android.data, time_to_live: android.timeToLive, collapse_key: android.collapseKey, priority: fcmPriority });
  if (Object.keys(notification).length > 0) section.notification = notification;
  return { ...section, ...extra(android, 'payload.android') };
}

function buildApns(ios: Json, priority: Priority | undefined): Json {
  const alert = defined({ title: ios.title, body: ios.body });
  const aps = defined({
    alert: Object.keys(alert).length > 0 ? alert : undefined,
    badge: ios.badge,
    sound: ios.sound,
    category: ios.category,
    'thread-id': ios.threadId,
    'content-available': ios.contentAvailable ? 1 : undefined,
  });
  const level = (ios.priority as Priority | null | undefined) ?? priority;
  const apnsPriority = level === 'HIGH' ? 10 : level === 'LOW' ? 5 : undefined;
  return { aps, ...defined({ data: ios.data, priority: apnsPriority, collapse_id: ios.collapseId, expiration: ios.expiration }), ...extra(ios, 'payload.ios') };
}

const priorityOf = (value: unknown): Priority | null => (value === 'high' || value === 10 ? 'HIGH' : value === 'normal' || value === 5 ? 'LOW' : null);

/** Reads the typed view of a queued Beams body back (whatever built it: typed fields or `extra`). */
function payloadView(body: { apns?: Json; fcm?: Json; web?: Json }) {
  const web = body.web;
  const fcm = body.fcm;
  const apns = body.apns;
  const webNote = isObject(web?.notification) ? web.notification : {};
  const fcmNote = isObject(fcm?.notification) ? fcm.notification : {};
  const aps = isObject(apns?.aps) ? apns.aps : {};
  const alert = isObject(aps.alert) ? aps.alert : typeof aps.alert === 'string' ? { body: aps.alert } : {};
  return {
    raw: body,
    web: web && {
      title: webNote.title ?? null,
      body: webNote.body ?? null,
      icon: webNote.icon ?? null,
      deepLink: webNote.deep_link ?? null,
      hideNotificationIfSiteHasFocus: webNote.hide_notification_if_site_has_focus ?? null,
      timeToLive: web.time_to_live ?? null,
      data: web.data ?? null,
    },
    android: fcm && {
      title: fcmNote.title ?? null,
      body: fcmNote.body ?? null,
      icon: fcmNote.icon ?? null,
      sound: fcmNote.sound ?? null,
      tag: fcmNote.tag ?? null,
      color: fcmNote.color ?? null,
      clickAction: fcmNote.click_action ?? null,
      priority: priorityOf(fcm.priority),
      timeToLive: fcm.time_to_live ?? null,
      collapseKey: fcm.collapse_key ?? null,
      data: fcm.data ?? null,
    },
    ios: apns && {
      title: alert.title ?? null,
      body: alert.body ?? null,
      badge: aps.badge ?? null,
      sound: typeof aps.sound === 'string' ? aps.sound : null,
      category: aps.category ?? null,
      threadId: aps['thread-id'] ?? null,
      contentAvailable: aps['content-available'] === 1 || aps['content-available'] === '1',
      priority: priorityOf(apns.priority),
      collapseId: apns.collapse_id ?? null,
      expiration: apns.expiration ?? null,
      data: apns.data ?? null,
    },
  };
}

export const beamsPublishResolvers: ResolverMap = {
  Query: {
    beamsUser: async (_root, args: { instanceId?: string; userId: string }, ctx) => {
      if (!isValidUserId(args.userId)) throw badInput(`User id must be 1-${LIMITS.nameLength} bytes`, 'userId');
      const { service, instance } = await instanceFor(ctx, args.instanceId);
      const devices = await beamsCall(() => service.devices.pageByUsers(instance.id, [args.userId], '', MAX_USER_DEVICES));
      const refs = devices.map((d): DeviceRef => ({ instanceId: instance.id, id: d.id, platform: d.platform, userId: args.userId, bundleId: d.bundleId }));
      return { id: args.userId, instanceId: instance.id, deviceCount: refs.length, devices: refs };
    },
  },

  Mutation: {
    sendBeamsNotification: async (_root, args: { instanceId?: string; input: NotificationInput }, ctx) => {
      const { input } = args;
      const hasInterests = input.interests !== undefined && input.interests !== null;
      const hasUsers = input.users !== undefined && input.users !== null;
      if (hasInterests === hasUsers) throw badInput('Give exactly one of interests or users', hasInterests ? 'users' : 'interests');
      const kind = hasInterests ? 'interests' : 'users';
      const { service, instance } = await instanceFor(ctx, args.instanceId);
      const priority = input.priority ?? undefined;
      const body: Json = {};
      if (input.payload.ios) body.apns = buildApns(input.payload.ios, priority);
      if (input.payload.android) body.fcm = buildFcm(input.payload.android, priority);
      if (input.payload.web) body.web = buildWeb(input.payload.web);
      if (input.webhookUrl) body.webhookUrl = input.webhookUrl;
      body[kind] = hasInterests ? input.interests : input.users;
      // The Publish API's body limits (10 KiB for interests, 200 KiB for users) apply here too.
      const [limit, label] = kind === 'interests' ? [LIMITS.interestsBodyBytes, '10KiB'] : [LIMITS.usersBodyBytes, '200KiB'];
      if (Buffer.byteLength(JSON.stringify(body)) > limit) throw badInput(`Notification too large (max ${label} as a Beams request body)`, 'input');
      const request = await beamsCall(() => validatePublish(kind, body));
      const publishId = await beamsCall(() => service.publish(instance, request));
      return {
        publishId,
        instanceId: instance.id,
        interests: kind === 'interests' ? request.targets : null,
        users: kind === 'users' ? request.targets : null,
        priority: input.priority ?? null,
        payload: payloadView(request.payload),
        webhookUrl: request.payload.webhookUrl ?? null,
      };
    },

    generateBeamsToken: async (_root, args: { instanceId?: string; userId: string }, ctx) => {
      if (!isValidUserId(args.userId)) throw badInput(`User id must be 1-${LIMITS.nameLength} bytes`, 'userId');
      const { instance } = await instanceFor(ctx, args.instanceId);
      const issuedAt = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + TOKEN_TTL_SECONDS)
        .setIssuer(expectedIssuer(instance.id))
        .setSubject(args.userId)
        .sign(new TextEncoder().encode(instance.secretKey));
      return {
        token,
        userId: args.userId,
        instanceId: instance.id,
        issuedAt: new Date(issuedAt * 1000),
        expiresAt: new Date((issuedAt + TOKEN_TTL_SECONDS) * 1000),
      };
    },

    deleteBeamsUser: async (_root, args: { instanceId?: string; userId: string }, ctx) => {
      if (!isValidUserId(args.userId)) throw badInput(`User id must be 1-${LIMITS.nameLength} bytes`, 'userId');
      const { service, instance } = await instanceFor(ctx, args.instanceId);
      const removed = await beamsCall(() => service.devices.deleteUser(instance.id, args.userId));
      return { ok: true, message: removed > 0 ? `Deleted the user and ${removed} device(s)` : 'The user had no devices', affected: removed, errors: [] };
    },
  },

  BeamsNotification: {
    status: async (n: { publishId: string; instanceId: string }, _args, ctx) => {
      const { service } = await instanceFor(ctx, n.instanceId);
      const status = await beamsCall(() => service.publishes.describe(n.instanceId, n.publishId));
      return typeof status?.status === 'string' ? status.status : 'queued';
    },
  },
};
