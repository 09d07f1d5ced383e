/**
 * Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291), using
 * the `web-push` package for the cryptography and our own keep-alive HTTP client for transport
 * (so connections are pooled and sends can be cancelled). The VAPID Authorization header depends
 * only on the push service origin, so it is signed once per origin and reused for an hour.
 */
import webPush from 'web-push';
import type { WebMessage } from '../payloads.js';
import { webEndpointAllowed, type WebSettings } from '../settings.js';
import type { DeviceTarget } from '../store.js';
import { decodeWebToken } from '../validation.js';
import type { HttpClient } from './http.js';
import { delivered, failed, networkFailure, retryAfterMs, type PushProvider, type SendOutcome } from './types.js';

const VAPID_REUSE_MS = 60 * 60_000;
/** VAPID JWT lifetime (the spec allows at most 24 h). */
const VAPID_EXPIRY_S = 12 * 60 * 60;

export class WebPushProvider implements PushProvider<WebMessage> {
  private readonly vapidByOrigin = new Map<string, { header: string; until: number }>();

  constructor(
    private readonly settings: WebSettings,
    private readonly http: HttpClient,
  ) {}

  private vapidHeader(origin: string): string {
    const cached = this.vapidByOrigin.get(origin);
    if (cached && cached.until > Date.now()) return cached.header;
    const { vapidSubject, vapidPublicKey, vapidPrivateKey } = this.settings;
    const expiration = Math.floor(Date.now() / 1000) + VAPID_EXPIRY_S;
    const header = webPush.getVapidHeaders(origin, vapidSubject, vapidPublicKey, vapidPrivateKey, 'aes128gcm', expiration).Authorization;
    if (this.vapidByOrigin.size > 1000) this.vapidByOrigin.clear();
    this.vapidByOrigin.set(origin, { header, until: Date.now() + VAPID_REUSE_MS });
    return header;
  }

  async send(device: DeviceTarget, message: WebMessage, signal: AbortSignal): Promise<SendOutcome> {
    let endpoint: string;
    let body: Buffer;
    let authorization: string;
    try {
      const subscription = decodeWebToken(device.token);
      endpoint = subscription.endpoint;
      if (!webEndpointAllowed(this.settings, endpoint)) {
        return failed(`push endpoint host not allowed by this instance (web.allowedEndpointHosts)`, false);
      }
      body = webPush.encrypt(subscription.keys.p256dh, subscription.keys.auth, message.payload, 'aes128gcm').cipherText;
      authorization = this.vapidHeader(new URL(endpoint).origin);
    } catch (err) {
      // A subscription whose keys cannot be used will never work.
      return { kind: 'invalid-token', reason: `unusable subscription: ${(err as Error).message}` };
    }
    let res;
    try {
      res = await this.http.request(endpoint, {
        method: 'POST',
        headers: {
          TTL: message.ttl,
          Urgency: 'normal',
          'Content-Encoding': 'aes128gcm',
          'Content-Type': 'application/octet-stream',
          'Content-Length': body.length,
          Authorization: authorization,
        },
        body,
        signal,
      });
    } catch (err) {
      return networkFailure(err);
    }
    if (res.status >= 200 && res.status < 300) return delivered;
    // 404/410: the subscription expired or the user revoked permission.
    if (res.status === 404 || res.status === 410) return { kind: 'invalid-token', reason: `push service answered ${res.status}` };
    const retryable = res.status === 429 || res.status >= 500;
    return failed(`push service answered ${res.status}: ${res.body.slice(0, 200)}`, retryable, retryable ? retryAfterMs(res.headers['retry-after']) : undefined);
  }

  close(): void {
    this.vapidByOrigin.clear();
  }
}
