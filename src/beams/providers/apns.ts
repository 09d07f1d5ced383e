/**
 * Apple Push Notification service over HTTP/2 (node:http2) with token-based auth: an ES256 JWT
 * `{iss: teamId, iat}` with header `kid: keyId`, signed by the .p8 key and reused for 50 minutes
 * (Apple wants a new one at most every 20 and at least every 60 minutes).
 * One HTTP/2 session per instance carries all concurrent requests; it is re-opened when the server
 * closes it (GOAWAY, idle timeout, network error). An `http://` endpoint means h2c (no TLS): tests.
 */
import http2, { type ClientHttp2Session } from 'node:http2';
import { importPKCS8, SignJWT } from 'jose';
import type { ApnsMessage } from '../payloads.js';
import { APNS_ENDPOINTS, type ApnsSettings } from '../settings.js';
import type { DeviceTarget } from '../store.js';
import { delivered, failed, networkFailure, retryAfterMs, type PushProvider, type SendOutcome } from './types.js';

const TOKEN_LIFETIME_MS = 50 * 60 * 1000;
const REQUEST_TIMEOUT_MS = 30_000;
/** Reasons after which the token is useless for good (the device is removed). */
const INVALID_TOKEN_REASONS = new Set(['BadDeviceToken', 'Unregistered', 'ExpiredToken']);
const RETRYABLE_STATUSES = new Set([429, 500, 503]);

export class ApnsProvider implements PushProvider<ApnsMessage> {
  private readonly endpoint: string;
  private session?: ClientHttp2Session;
  private jwt?: { value: Promise<string>; issuedAt: number };
  private closed = false;

  constructor(private readonly settings: ApnsSettings) {
    this.endpoint = settings.endpoint ?? APNS_ENDPOINTS[settings.environment];
  }

  private providerToken(): Promise<string> {
    if (!this.jwt || Date.now() - this.jwt.issuedAt > TOKEN_LIFETIME_MS) {
      const issuedAt = Date.now();
      const value = importPKCS8(this.settings.privateKey, 'ES256').then((key) =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'ES256', kid: this.settings.keyId })
          .setIssuer(this.settings.teamId)
          .setIssuedAt(Math.floor(issuedAt / 1000))
          .sign(key),
      );
      this.jwt = { value, issuedAt };
      value.catch(() => {
        if (this.jwt?.value === value) this.jwt = undefined;
      });
    }
    return this.jwt.value;
  }

  private connection(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = http2.connect(this.endpoint);
    // Errors surface on the streams; an unhandled 'error' event would crash the process.
    session.on('error', () => undefined);
    const forget = () => {
      if (this.session === session) this.session = undefined;
    };
    session.on('close', forget);
    session.on('goaway', () => {
      forget();
      session.close();
    });
    session.setTimeout(5 * 60_000, () => session.close());
    this.session = session;
    return session;
  }

  async send(device: DeviceTarget, message: ApnsMessage, signal: AbortSignal): Promise<SendOutcome> {
    if (this.closed) return failed('APNs provider closed', true);
    const topic = this.settings.topic ?? device.bundleId;
    if (!topic) return failed('no apns-topic: configure apns.topic or register devices with a bundleIdentifier', false);
    let token: string;
    try {
      token = await this.providerToken();
    } catch (err) {
      return failed(`cannot sign the APNs provider token: ${(err as Error).message}`, false);
    }
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': `/3/device/${encodeURIComponent(device.token)}`,
      authorization: `bearer ${token}`,
      'apns-topic': topic,
      'apns-push-type': message.pushType,
      'apns-priority': message.priority,
      'content-type': 'application/json',
    };
    if (message.expiration !== undefined) headers['apns-expiration'] = message.expiration;
    if (message.collapseId !== undefined) headers['apns-collapse-id'] = message.collapseId;

    let response: { status: number; body: string; retryAfter?: string };
    try {
      response = await this.request(headers, message.body, signal);
    } catch (err) {
      return networkFailure(err);
    }
    return this.outcome(response, token);
  }

  private request(headers: http2.OutgoingHttpHeaders, body: string, signal: AbortSignal): Promise<{ status: number; body: string; retryAfter?: string }> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new Error('aborted'));
      let stream: http2.ClientHttp2Stream;
      try {
        stream = this.connection().request(headers);
      } catch (err) {
        this.session?.destroy();
        return reject(err);
      }
      const onAbort = () => stream.close(http2.constants.NGHTTP2_CANCEL);
      signal.addEventListener('abort', onAbort, { once: true });
      let status = 0;
      let retryAfter: string | undefined;
      const chunks: Buffer[] = [];
      stream.setTimeout(REQUEST_TIMEOUT_MS, () => stream.close(http2.constants.NGHTTP2_CANCEL));
      stream.on('response', (h) => {
        status = Number(h[':status'] ?? 0);
        retryAfter = typeof h['retry-after'] === 'string' ? h['retry-after'] : undefined;
      });
      stream.on('data', (chunk: Buffer) => {
        if (chunks.length < 64) chunks.push(chunk);
      });
      stream.on('error', reject);
      stream.on('close', () => {
        signal.removeEventListener('abort', onAbort);
        if (status === 0) reject(new Error(signal.aborted ? 'aborted' : 'stream closed without a response'));
        else resolve({ status, body: Buffer.concat(chunks).toString('utf8'), retryAfter });
      });
      stream.end(body);
    });
  }

  private outcome(response: { status: number; body: string; retryAfter?: string }, usedToken: string): SendOutcome {
    if (response.status === 200) return delivered;
    let reason = '';
    try {
      reason = String((JSON.parse(response.body) as { reason?: unknown }).reason ?? '');
    } catch {
      /* non-JSON error body */
    }
    if (response.status === 410 || INVALID_TOKEN_REASONS.has(reason)) return { kind: 'invalid-token', reason: reason || 'Unregistered' };
    if (response.status === 403 && reason === 'ExpiredProviderToken') {
      // Sign a fresh provider token once, then retry.
      void this.jwt?.value.then((current) => {
        if (current === usedToken) this.jwt = undefined;
      });
      return failed(reason, true);
    }
    const retryable = RETRYABLE_STATUSES.has(response.status);
    return failed(`APNs ${response.status}${reason ? ` ${reason}` : ''}`, retryable, retryable ? retryAfterMs(response.retryAfter) : undefined);
  }

  close(): void {
    this.closed = true;
    this.session?.destroy();
    this.session = undefined;
  }
}
