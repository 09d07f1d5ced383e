/** The Channels app model (seed 000: App, AppKey, AppSecret) and its limits. */
import { z } from 'zod';
import { invalidOriginEntry, MAX_ALLOWED_ORIGINS } from './origins.js';

const webhookEventTypes = [
  'channel_occupied',
  'channel_vacated',
  'member_added',
  'member_removed',
  'client_event',
  'cache_miss',
  'subscription_count',
] as const;

export const webhookEndpointSchema = z.object({
  url: z.url({ protocol: /^https?$/ }).describe('Endpoint that receives POSTed webhook batches'),
  events: z
    .array(z.enum(webhookEventTypes))
    .optional()
    .describe('Event types sent to this endpoint; when omitted, every type except subscription_count (sent only when listed)'),
  channelPrefix: z.string().optional().describe('Only events on channels starting with this prefix'),
  headers: z.record(z.string(), z.string()).optional().describe('Extra HTTP headers sent with every request'),
});

export const appLimitsSchema = z.object({
  maxConnections: z.number().int().min(0).default(0).describe('Concurrent connections allowed (0 = unlimited); over it a connection is closed with 4004'),
  maxPresenceMembers: z.number().int().min(1).default(100).describe('Members per presence channel'),
  maxPresenceUserInfoBytes: z.number().int().min(0).default(1024).describe('Size of one presence member\'s user_info JSON'),
  maxUserIdLength: z.number().int().min(1).default(128).describe('Length of a presence/sign-in user id'),
  maxChannelNameLength: z.number().int().min(1).max(1000).default(200).describe('Channel name length (Pusher docs say 164, the pusher SDK allows 200)'),
  maxEventNameLength: z.number().int().min(1).max(1000).default(200).describe('Event name length'),
  maxPayloadBytes: z.number().int().min(1).default(10240).describe('Event data size, for HTTP publishes and client events (413 / pusher:error)'),
  maxChannelsPerPublish: z.number().int().min(1).max(1000).default(100).describe('Channels in one POST /events'),
  maxBatchSize: z.number().int().min(1).max(1000).default(10).describe('Events in one POST /batch_events'),
  clientEventsPerSecond: z.number().int().min(0).default(10).describe('Client events per connection per second; excess refused with 4301'),
  maxWatchlistSize: z.number().int().min(0).default(100).describe('Watchlist entries honoured per user (4302 beyond)'),
  maxSubscriptionsPerConnection: z.number().int().min(1).default(1000).describe('Channels one connection may subscribe to'),
  apiRequestsPerSecond: z.number().int().min(0).default(0).describe('HTTP API requests per second for this app on one node (0 = unlimited); excess gets 429'),
});

export const appSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1–64 characters of A-Z a-z 0-9 _ . -'),
  key: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be 1–128 characters of A-Z a-z 0-9 _ . -'),
  secret: z.string().min(8, 'must be at least 8 characters'),
  name: z.string().optional(),
  enabled: z.boolean().default(true).describe('Disabled apps refuse connections (4003) and API calls (403)'),
  clientEvents: z.boolean().default(true).describe('Allow client-* events on private and presence channels'),
  /** Older key/secret pairs still accepted while a secret is rotated. */
  extraCredentials: z.array(z.object({ key: z.string().min(1), secret: z.string().min(8) })).default([]),
  userAuthentication: z
    .object({
      required: z.boolean().default(false).describe('Close connections that do not sign in (or subscribe to an authorized channel) within the timeout, with 4009'),
      timeoutMs: z.number().int().min(100).default(30000).describe('Milliseconds a new connection has to sign in or subscribe to a private/presence/encrypted channel when required is on'),
    })
    .default({ required: false, timeoutMs: 30000 })
    .describe('Authorized connections: require every connection to authenticate'),
  subscriptionCountEvents: z.boolean().default(false).describe('Send pusher_internal:subscription_count to the subscribers of non-presence channels when the count changes'),
  watchlistEvents: z.boolean().default(true).describe('Send watchlist online/offline events to signed-in users'),
  allowedOrigins: z
    .array(
      z.string().superRefine((entry, ctx) => {
        const problem = invalidOriginEntry(entry);
        if (problem) ctx.addIssue({ code: 'custom', message: `"${entry.slice(0, 100)}" ${problem}` });
      }),
    )
    .max(MAX_ALLOWED_ORIGINS)
    .default([])
    .describe('Browser origins allowed to connect (https://app.example.com, app.example.com, *.example.com); empty = any. Others are refused with 4009'),
  cacheTtlSeconds: z.number().int().min(1).max(86400).default(1800).describe('Seconds cache channels keep their last event (Pusher: 30 minutes)'),
  limits: appLimitsSchema.default(appLimitsSchema.parse({})),
  webhooks: z.array(webhookEndpointSchema).default([]),
  /** Pusher-style batch webhooks: several events per request. */
  webhookBatching: z.boolean().default(true),
  quotas: z
    .object({
      dailyMessages: z.number().int().min(0).default(0).describe('Messages per UTC day (0 = unlimited); over it HTTP publishes get 403'),
      maxConnections: z.number().int().min(0).default(0).describe('Concurrent connections across all nodes (0 = unlimited); over it a connection is closed with 4004'),
    })
    .default({ dailyMessages: 0, maxConnections: 0 }),
});

export type AppInput = z.input<typeof appSchema>;
export type AppConfig = z.output<typeof appSchema>;
export type AppLimits = z.output<typeof appLimitsSchema>;
export type WebhookEndpoint = z.output<typeof webhookEndpointSchema>;
export type WebhookEventType = (typeof webhookEventTypes)[number];
export const WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = webhookEventTypes;

/** A resolved app: its configuration plus every key/secret pair it accepts. */
export interface App extends AppConfig {
  credentials: ReadonlyArray<{ key: string; secret: string }>;
}

export function toApp(config: AppConfig): App {
  return { ...config, credentials: [{ key: config.key, secret: config.secret }, ...config.extraCredentials] };
}

export function parseApp(input: AppInput): App {
  return toApp(appSchema.parse(input));
}
