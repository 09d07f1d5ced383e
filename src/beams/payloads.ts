/**
 * Turns a publish's `apns` / `fcm` / `web` sections into what each gateway receives, once per
 * publish (only the device token differs per send). Every payload carries a `pusher` object in its
 * data — the client SDKs use it to recognise Beams notifications and report deliveries/opens:
 * - APNs: `data.pusher = {instanceId, publishId, …}` in the JSON body;
 * - FCM (HTTP v1): `data.pusher` as a JSON string (FCM data values must be strings);
 * - Web: `{notification, data: {…, pusher}}`; the service worker ignores pushes without
 *   `data.pusher` and always reads `notification`, so it is never omitted (spec F.4).
 */
import type { PublishPayload } from './validation.js';

export interface PusherMeta {
  instanceId: string;
  publishId: string;
  hasDisplayableContent: boolean;
  hasData: boolean;
}

export interface ApnsMessage {
  body: string;
  pushType: 'alert' | 'background';
  priority: string;
  expiration?: string;
  collapseId?: string;
}

export interface FcmTemplate {
  /** The HTTP v1 `message` without its `token`. */
  message: Record<string, unknown>;
}

export interface WebMessage {
  /** Plaintext JSON, encrypted per subscription. */
  payload: string;
  ttl: number;
}

export interface PreparedPublish {
  apns?: ApnsMessage;
  fcm?: FcmTemplate;
  web?: WebMessage;
}

/** Gateway payload limits (bytes of JSON). Web: 4096-byte records minus RFC 8188/8291 overhead. */
export const PAYLOAD_LIMITS = { apns: 4096, fcm: 4096, web: 3993 } as const;

const DEFAULT_WEB_TTL = 2_419_200;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const hasKeys = (v: unknown) => isObject(v) && Object.keys(v).length > 0;

export function prepareApns(apns: Record<string, unknown>, instanceId: string, publishId: string): ApnsMessage {
  const { collapse_id, expiration, priority, data, ...body } = apns;
  const aps = (body.aps ?? {}) as Record<string, unknown>;
  const displayable = aps.alert !== undefined || aps.sound !== undefined || aps.badge !== undefined;
  const pusher: PusherMeta = { instanceId, publishId, hasDisplayableContent: displayable, hasData: hasKeys(data) };
  const background = !displayable && (aps['content-available'] === 1 || aps['content-available'] === '1');
  return {
    body: JSON.stringify({ ...body, data: { ...(isObject(data) ? data : {}), pusher } }),
    pushType: background ? 'background' : 'alert',
    // Apple rejects priority 10 for background pushes.
    priority: String(priority ?? (background ? 5 : 10)),
    ...(expiration !== undefined ? { expiration: String(expiration) } : {}),
    ...(typeof collapse_id === 'string' ? { collapseId: collapse_id } : {}),
  };
}

/** FCM legacy notification fields (what Beams accepts) → HTTP v1 AndroidNotification fields. */
const ANDROID_FIELDS: Record<string, string> = {
  android_channel_id: 'channel_id',
  icon: 'icon',
  sound: 'sound',
  tag: 'tag',
  color: 'color',
  click_action: 'click_action',
  body_loc_key: 'body_loc_key',
  body_loc_args: 'body_loc_args',
  title_loc_key: 'title_loc_key',
  title_loc_args: 'title_loc_args',
};

export function prepareFcm(fcm: Record<string, unknown>, instanceId: string, publishId: string): FcmTemplate {
  const legacy = isObject(fcm.notification) ? fcm.notification : undefined;
  const data: Record<string, string> = {};
  if (isObject(fcm.data)) {
    for (const [k, v] of Object.entries(fcm.data)) data[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  const displayable = legacy !== undefined && (legacy.title !== undefined || legacy.body !== undefined);
  const pusher: PusherMeta = { instanceId, publishId, hasDisplayableContent: displayable, hasData: hasKeys(fcm.data) };
  data.pusher = JSON.stringify(pusher);

  const message: Record<string, unknown> = { data };
  const android: Record<string, unknown> = {};
  if (legacy) {
    const notification: Record<string, unknown> = {};
    if (typeof legacy.title === 'string') notification.title = legacy.title;
    if (typeof legacy.body === 'string') notification.body = legacy.body;
    if (Object.keys(notification).length > 0) message.notification = notification;
    const androidNotification: Record<string, unknown> = {};
    for (const [from, to] of Object.entries(ANDROID_FIELDS)) if (legacy[from] !== undefined) androidNotification[to] = legacy[from];
    if (Object.keys(androidNotification).length > 0) android.notification = androidNotification;
  }
  if (fcm.priority === 'high' || fcm.priority === 'normal') android.priority = fcm.priority.toUpperCase();
  if (typeof fcm.time_to_live === 'number') android.ttl = `${fcm.time_to_live}s`;
  if (typeof fcm.collapse_key === 'string') android.collapse_key = fcm.collapse_key;
  if (Object.keys(android).length > 0) message.android = android;
  return { message };
}

export function prepareWeb(web: Record<string, unknown>, instanceId: string, publishId: string): WebMessage {
  const notification = isObject(web.notification) ? web.notification : {};
  const data = isObject(web.data) ? web.data : {};
  const pusher: PusherMeta = {
    instanceId,
    publishId,
    hasDisplayableContent: notification.title !== undefined || notification.body !== undefined,
    hasData: hasKeys(web.data),
  };
  return {
    payload: JSON.stringify({ notification, data: { ...data, pusher } }),
    ttl: typeof web.time_to_live === 'number' ? web.time_to_live : DEFAULT_WEB_TTL,
  };
}

export function preparePublish(payload: PublishPayload, instanceId: string, publishId: string): PreparedPublish {
  return {
    ...(payload.apns ? { apns: prepareApns(payload.apns, instanceId, publishId) } : {}),
    ...(payload.fcm ? { fcm: prepareFcm(payload.fcm, instanceId, publishId) } : {}),
    ...(payload.web ? { web: prepareWeb(payload.web, instanceId, publishId) } : {}),
  };
}

/** The first platform whose payload exceeds its gateway's size limit, if any. */
export function oversizedPlatform(prepared: PreparedPublish): string | undefined {
  if (prepared.apns && Buffer.byteLength(prepared.apns.body) > PAYLOAD_LIMITS.apns) return 'apns';
  if (prepared.fcm && Buffer.byteLength(JSON.stringify(prepared.fcm.message)) > PAYLOAD_LIMITS.fcm) return 'fcm';
  if (prepared.web && Buffer.byteLength(prepared.web.payload) > PAYLOAD_LIMITS.web) return 'web';
  return undefined;
}
