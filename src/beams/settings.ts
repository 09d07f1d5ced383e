/**
 * Per-instance provider credentials and limits (the `settings` JSON of a Beams instance):
 * APNs token-auth key, FCM service account, VAPID key pair (generated when absent), and the
 * endpoints of each provider so operators — and tests — can point them elsewhere.
 */
import { createECDH, createPrivateKey, randomUUID } from 'node:crypto';
import webPush from 'web-push';
import { z } from 'zod';

export const APNS_ENDPOINTS = {
  production: 'https://api.push.apple.com',
  development: 'https://api.sandbox.push.apple.com',
} as const;
export const FCM_ENDPOINT = 'https://fcm.googleapis.com';
export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';
export const DEFAULT_VAPID_SUBJECT = 'mailto:admin@example.com';

/**
 * Web Push endpoints come from browsers (untrusted input), so Herald only posts to known push
 * services unless an instance widens the list. An entry is a host name, `.suffix` or `*`.
 */
export const DEFAULT_WEB_PUSH_HOSTS = [
  'fcm.googleapis.com',
  'android.googleapis.com',
  'updates.push.services.mozilla.com',
  '.push.services.mozilla.com',
  '.notify.windows.com',
  'web.push.apple.com',
  '.push.apple.com',
];

const url = z.string().url().refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL').transform((u) => u.replace(/\/+$/, ''));

function pemKey(kind: 'ec' | 'rsa') {
  return z.string().min(1).max(16_384).superRefine((pem, issue) => {
    try {
      const key = createPrivateKey(pem);
      if (key.asymmetricKeyType !== kind) issue.addIssue({ code: 'custom', message: `must be an ${kind.toUpperCase()} private key` });
      else if (kind === 'ec' && key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') issue.addIssue({ code: 'custom', message: 'must be a P-256 key (.p8 from Apple)' });
    } catch {
      issue.addIssue({ code: 'custom', message: 'must be a PEM private key' });
    }
  });
}

export const apnsSettingsSchema = z.object({
  /** Key ID of the .p8 signing key (Apple Developer → Keys). */
  keyId: z.string().min(1).max(64),
  teamId: z.string().min(1).max(64),
  /** PEM contents of the .p8 key file. */
  privateKey: pemKey('ec'),
  /** apns-topic (the app bundle id); when absent the bundleIdentifier the device registered with. */
  topic: z.string().min(1).max(255).optional(),
  environment: z.enum(['production', 'development']).default('production'),
  /** Overrides the environment's endpoint (tests, proxies). http:// means HTTP/2 without TLS (h2c). */
  endpoint: url.optional(),
});

export const fcmSettingsSchema = z.object({
  /** The Firebase service-account JSON (Project settings → Service accounts → Generate key). */
  serviceAccount: z
    .object({
      project_id: z.string().min(1).max(200),
      client_email: z.string().min(1).max(320),
      private_key: pemKey('rsa'),
      private_key_id: z.string().max(200).optional(),
      token_uri: url.default(GOOGLE_TOKEN_URI),
    })
    .passthrough(),
  endpoint: url.default(FCM_ENDPOINT),
});

const base64url = (bytes: number) =>
  z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be base64url').refine((v) => Buffer.from(v, 'base64url').length === bytes, `must decode to ${bytes} bytes`);

export const webSettingsSchema = z
  .object({
    vapidPublicKey: base64url(65).optional(),
    vapidPrivateKey: base64url(32).optional(),
    vapidSubject: z.string().regex(/^(mailto:|https:\/\/)\S+$/, 'must be a mailto: or https: URL').default(DEFAULT_VAPID_SUBJECT),
    allowedEndpointHosts: z.array(z.string().min(1).max(255)).max(100).default(DEFAULT_WEB_PUSH_HOSTS),
    /** Allow http:// push endpoints (tests and local push services only). */
    allowInsecureEndpoints: z.boolean().default(false),
  })
  .refine((w) => (w.vapidPublicKey === undefined) === (w.vapidPrivateKey === undefined), 'set both vapidPublicKey and vapidPrivateKey, or neither');

export const limitsSchema = z.object({
  /** Publish API requests per second per instance (Beams: 100); 0 = unlimited. */
  publishesPerSecond: z.number().int().min(0).max(100_000).default(100),
});

/** Beams webhook event types (Pusher's docs: concepts/webhooks). */
export const BEAMS_WEBHOOK_EVENTS = ['v1.PublishToUsersAttempt', 'v1.UserNotificationAcknowledgement', 'v1.UserNotificationOpen'] as const;
export type BeamsWebhookEvent = (typeof BEAMS_WEBHOOK_EVENTS)[number];

export const webhookSettingsSchema = z.object({
  /** Sent as Webhook-ID-UUID; generated when absent. */
  id: z.string().uuid().optional(),
  url,
  /** Key of the Webhook-Signature header: hex HMAC-SHA1 of the body. */
  secret: z.string().min(1).max(256),
  /** Event types sent to this URL; every type when absent. */
  events: z.array(z.enum(BEAMS_WEBHOOK_EVENTS)).max(BEAMS_WEBHOOK_EVENTS.length).optional(),
  /** Sent as `custom_data` in every request body. */
  customData: z.record(z.string(), z.unknown()).refine((d) => JSON.stringify(d).length <= 4096, 'must serialize to at most 4096 characters').optional(),
});
export const webhooksSettingsSchema = z.array(webhookSettingsSchema).max(10);
export type BeamsWebhookSettings = z.output<typeof webhookSettingsSchema> & { id: string };

export type ApnsSettings = z.output<typeof apnsSettingsSchema>;
export type FcmSettings = z.output<typeof fcmSettingsSchema>;
export type WebSettings = z.output<typeof webSettingsSchema> & { vapidPublicKey: string; vapidPrivateKey: string };
export type LimitSettings = z.output<typeof limitsSchema>;

export interface InstanceSettings {
  apns?: ApnsSettings;
  fcm?: FcmSettings;
  web: WebSettings;
  limits: LimitSettings;
  webhooks: BeamsWebhookSettings[];
}

/** What an operator may send when creating/updating (null removes a provider). */
export interface SettingsPatch {
  apns?: z.input<typeof apnsSettingsSchema> | null;
  fcm?: z.input<typeof fcmSettingsSchema> | null;
  web?: z.input<typeof webSettingsSchema>;
  limits?: z.input<typeof limitsSchema>;
  /** Replaces the instance's webhooks ([] removes them all). */
  webhooks?: z.input<typeof webhooksSettingsSchema>;
}

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown, label: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new SettingsError(result.error.issues.map((i) => `${[label, ...i.path.map(String)].join('.')}: ${i.message}`).join('; '));
  }
  return result.data;
}

/** Applies a patch to existing settings (or defaults), generating a VAPID key pair if none exists. */
export function applySettingsPatch(current: InstanceSettings | undefined, patch: SettingsPatch): InstanceSettings {
  // web and limits are merged field by field below, which needs objects (a number would throw a TypeError).
  for (const key of ['web', 'limits'] as const) {
    const value: unknown = patch[key];
    if (value !== undefined && value !== null && (typeof value !== 'object' || Array.isArray(value))) {
      throw new SettingsError(`${key}: Invalid input: expected object, received ${Array.isArray(value) ? 'array' : typeof value}`);
    }
  }
  const next: InstanceSettings = {
    ...(current?.apns ? { apns: current.apns } : {}),
    ...(current?.fcm ? { fcm: current.fcm } : {}),
    web: current?.web ?? (undefined as unknown as WebSettings),
    limits: current?.limits ?? limitsSchema.parse({}),
    webhooks: current?.webhooks ?? [],
  };
  if (patch.webhooks !== undefined) {
    next.webhooks = parse(webhooksSettingsSchema, patch.webhooks, 'webhooks').map((w) => ({ ...w, id: w.id ?? randomUUID() }));
  }
  if (patch.apns === null) delete next.apns;
  else if (patch.apns !== undefined) next.apns = parse(apnsSettingsSchema, patch.apns, 'apns');
  if (patch.fcm === null) delete next.fcm;
  else if (patch.fcm !== undefined) next.fcm = parse(fcmSettingsSchema, patch.fcm, 'fcm');
  if (patch.limits !== undefined) next.limits = parse(limitsSchema, { ...next.limits, ...patch.limits }, 'limits');
  const webInput = { ...(current?.web ?? {}), ...(patch.web ?? {}) };
  if (patch.web && 'vapidPublicKey' in patch.web !== 'vapidPrivateKey' in patch.web) {
    throw new SettingsError('web: set both vapidPublicKey and vapidPrivateKey, or neither');
  }
  const web = parse(webSettingsSchema, webInput, 'web');
  if (web.vapidPublicKey && web.vapidPrivateKey && patch.web?.vapidPrivateKey !== undefined) {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(web.vapidPrivateKey, 'base64url'));
    if (!ecdh.getPublicKey().equals(Buffer.from(web.vapidPublicKey, 'base64url'))) {
      throw new SettingsError('web: vapidPublicKey is not the public key of vapidPrivateKey');
    }
  }
  if (!web.vapidPublicKey || !web.vapidPrivateKey) {
    const keys = webPush.generateVAPIDKeys();
    web.vapidPublicKey = keys.publicKey;
    web.vapidPrivateKey = keys.privateKey;
  }
  next.web = web as WebSettings;
  return next;
}

/** Settings as stored (already validated when written); fills defaults added since. */
export function readSettings(stored: unknown): InstanceSettings {
  const raw = (stored ?? {}) as Partial<InstanceSettings>;
  return {
    ...(raw.apns ? { apns: raw.apns } : {}),
    ...(raw.fcm ? { fcm: raw.fcm } : {}),
    web: { vapidSubject: DEFAULT_VAPID_SUBJECT, allowedEndpointHosts: DEFAULT_WEB_PUSH_HOSTS, allowInsecureEndpoints: false, ...(raw.web ?? {}) } as WebSettings,
    limits: limitsSchema.parse(raw.limits ?? {}),
    webhooks: Array.isArray(raw.webhooks) ? raw.webhooks : [],
  };
}

/** Settings without private keys, for listings and `show`. */
export function publicSettings(settings: InstanceSettings): Record<string, unknown> {
  return {
    apns: settings.apns
      ? { keyId: settings.apns.keyId, teamId: settings.apns.teamId, topic: settings.apns.topic, environment: settings.apns.environment, endpoint: settings.apns.endpoint ?? APNS_ENDPOINTS[settings.apns.environment], privateKey: '[configured]' }
      : null,
    fcm: settings.fcm
      ? { projectId: settings.fcm.serviceAccount.project_id, clientEmail: settings.fcm.serviceAccount.client_email, tokenUri: settings.fcm.serviceAccount.token_uri, endpoint: settings.fcm.endpoint, privateKey: '[configured]' }
      : null,
    web: {
      vapidPublicKey: settings.web.vapidPublicKey,
      vapidSubject: settings.web.vapidSubject,
      allowedEndpointHosts: settings.web.allowedEndpointHosts,
      allowInsecureEndpoints: settings.web.allowInsecureEndpoints,
      vapidPrivateKey: '[configured]',
    },
    limits: settings.limits,
    webhooks: settings.webhooks.map((w) => ({ ...w, secret: '[configured]' })),
  };
}

/** Whether a Web Push endpoint may receive requests from this instance (SSRF guard). */
export function webEndpointAllowed(web: WebSettings, endpoint: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(endpoint);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && web.allowInsecureEndpoints)) return false;
  const host = parsed.hostname.toLowerCase();
  return web.allowedEndpointHosts.some((entry) => {
    const e = entry.toLowerCase();
    if (e === '*') return true;
    if (e.startsWith('.')) return host.endsWith(e);
    return host === e;
  });
}
