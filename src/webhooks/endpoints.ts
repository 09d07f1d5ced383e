/**
 * Which of an app's endpoints receive an event, and the headers sent to each.
 * Endpoints are identified by URL: the outbox keys rows by (app id, URL), so an endpoint keeps its
 * queued events when its filters or headers are edited, and loses them when it is removed.
 */
import type { App, WebhookEndpoint } from '../apps/app.js';
import type { WebhookEvent } from './events.js';

/** Distinct endpoint URLs of `app` that want `event` (event-type list and channel-prefix filter). */
export function endpointsFor(app: App, event: WebhookEvent): string[] {
  const urls: string[] = [];
  for (const endpoint of app.webhooks) {
    // Omitted `events` means Pusher's six types (seed 004); `subscription_count` only when listed.
    // An explicit empty list means none.
    if (endpoint.events ? !endpoint.events.includes(event.name) : event.name === 'subscription_count') continue;
    if (endpoint.channelPrefix && !event.channel.startsWith(endpoint.channelPrefix)) continue;
    if (!urls.includes(endpoint.url)) urls.push(endpoint.url);
  }
  return urls;
}

/** The removal each re-add cancels when it comes within the vacate window (spec C.3). */
const CANCELLED_REMOVAL = { channel_occupied: 'channel_vacated', member_added: 'member_removed' } as const;

/**
 * Endpoints that receive the removal `event` cancels but not `event` itself (an `events` filter
 * listing channel_vacated without channel_occupied, say). They still need the cancellation, or a
 * page reload would report them a vacancy that never lasted; `urls` are those that get `event`.
 */
export function cancelOnlyEndpoints(app: App, event: WebhookEvent, urls: readonly string[]): string[] {
  const removal = CANCELLED_REMOVAL[event.name as keyof typeof CANCELLED_REMOVAL];
  if (!removal) return [];
  return endpointsFor(app, { ...event, name: removal } as WebhookEvent).filter((url) => !urls.includes(url));
}

/** The configuration of the endpoint with this URL (the first one, if listed twice). */
export function endpointByUrl(app: App, url: string): WebhookEndpoint | undefined {
  return app.webhooks.find((e) => e.url === url);
}

export function endpointUrls(app: App): string[] {
  return [...new Set(app.webhooks.map((e) => e.url))];
}

/** Headers Herald owns: custom headers cannot replace them (the signature must stay verifiable). */
const RESERVED = new Set(['content-type', 'content-length', 'x-pusher-key', 'x-pusher-signature', 'host', 'transfer-encoding', 'connection', 'user-agent']);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
/** What node:http sends (RFC 9110 field-value: tab, visible ASCII, obs-text); it throws on anything else. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const MAX_CUSTOM_HEADERS = 32;
const MAX_HEADER_VALUE = 4096;

/**
 * The endpoint's custom headers that are safe to send. Invalid names, values with control
 * characters (header injection) or characters beyond Latin-1, and reserved names are skipped
 * rather than failing the delivery.
 */
export function customHeaders(endpoint: WebhookEndpoint | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!endpoint?.headers) return out;
  let count = 0;
  for (const [name, value] of Object.entries(endpoint.headers)) {
    if (count >= MAX_CUSTOM_HEADERS) break;
    if (!HEADER_NAME.test(name) || RESERVED.has(name.toLowerCase())) continue;
    // CR/LF would inject headers; a character node:http refuses would fail every delivery.
    if (typeof value !== 'string' || value.length > MAX_HEADER_VALUE || !HEADER_VALUE.test(value)) continue;
    out[name] = value;
    count++;
  }
  return out;
}
