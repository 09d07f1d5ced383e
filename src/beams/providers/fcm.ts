/**
 * Firebase Cloud Messaging, HTTP v1 API: `POST {endpoint}/v1/projects/{project}/messages:send`
 * with an OAuth 2 access token obtained from the service account (RFC 7523 JWT bearer grant:
 * an RS256 assertion `{iss: client_email, scope, aud: token_uri}` posted to `token_uri`).
 * The access token is cached until shortly before it expires; concurrent sends share one refresh.
 */
import { importPKCS8, SignJWT } from 'jose';
import type { FcmTemplate } from '../payloads.js';
import type { FcmSettings } from '../settings.js';
import type { DeviceTarget } from '../store.js';
import type { HttpClient } from './http.js';
import { delivered, failed, networkFailure, retryAfterMs, type PushProvider, type SendOutcome } from './types.js';

export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const REFRESH_MARGIN_MS = 5 * 60_000;

interface FcmErrorBody {
  error?: { code?: number; message?: string; status?: string; details?: Array<{ errorCode?: string }> };
}

export class FcmProvider implements PushProvider<FcmTemplate> {
  private accessToken?: { value: Promise<string>; expiresAt: number };
  private readonly sendUrl: string;

  constructor(
    private readonly settings: FcmSettings,
    private readonly http: HttpClient,
  ) {
    this.sendUrl = `${settings.endpoint}/v1/projects/${encodeURIComponent(settings.serviceAccount.project_id)}/messages:send`;
  }

  private token(): Promise<string> {
    if (this.accessToken && this.accessToken.expiresAt > Date.now()) return this.accessToken.value;
    // Shared by concurrent sends until the token endpoint answers (expiresAt is set from its reply).
    const entry: { value: Promise<string>; expiresAt: number } = { value: Promise.resolve(''), expiresAt: Number.POSITIVE_INFINITY };
    entry.value = this.fetchToken(entry);
    this.accessToken = entry;
    entry.value.catch(() => {
      if (this.accessToken === entry) this.accessToken = undefined;
    });
    return entry.value;
  }

  private async fetchToken(entry: { expiresAt: number }): Promise<string> {
    const account = this.settings.serviceAccount;
    const key = await importPKCS8(account.private_key, 'RS256');
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ scope: FCM_SCOPE })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(account.private_key_id ? { kid: account.private_key_id } : {}) })
      .setIssuer(account.client_email)
      .setAudience(account.token_uri)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(key);
    const body = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString();
    const res = await this.http.request(account.token_uri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
      body,
    });
    let parsed: { access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(res.body);
    } catch {
      parsed = {};
    }
    if (res.status !== 200 || typeof parsed.access_token !== 'string') {
      throw new Error(`FCM OAuth token request failed with HTTP ${res.status}: ${res.body.slice(0, 200)}`);
    }
    const lifetimeMs = (typeof parsed.expires_in === 'number' ? parsed.expires_in : 3600) * 1000;
    entry.expiresAt = Date.now() + Math.max(lifetimeMs - REFRESH_MARGIN_MS, lifetimeMs / 2);
    return parsed.access_token;
  }

  async send(device: DeviceTarget, template: FcmTemplate, signal: AbortSignal): Promise<SendOutcome> {
    let accessToken: string;
    try {
      accessToken = await this.token();
    } catch (err) {
      return failed((err as Error).message, true);
    }
    const body = JSON.stringify({ message: { ...template.message, token: device.token } });
    let res;
    try {
      res = await this.http.request(this.sendUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) },
        body,
        signal,
      });
    } catch (err) {
      return networkFailure(err);
    }
    if (res.status === 200) return delivered;
    let error: FcmErrorBody['error'] = {};
    try {
      error = (JSON.parse(res.body) as FcmErrorBody).error ?? {};
    } catch {
      /* non-JSON error body */
    }
    const codes = (error.details ?? []).map((d) => d.errorCode).filter(Boolean);
    const label = `FCM ${res.status} ${codes[0] ?? error.status ?? ''}`.trim();
    if (res.status === 404 || codes.includes('UNREGISTERED')) return { kind: 'invalid-token', reason: 'UNREGISTERED' };
    if (res.status === 400 && /registration token/i.test(error.message ?? '')) return { kind: 'invalid-token', reason: 'INVALID_ARGUMENT (token)' };
    if (res.status === 401) {
      // The access token was revoked or expired early: fetch a new one and retry.
      if (this.accessToken) this.accessToken.expiresAt = 0;
      return failed(label, true);
    }
    const retryable = res.status === 429 || res.status >= 500;
    return failed(label, retryable, retryable ? retryAfterMs(res.headers['retry-after']) : undefined);
  }

  close(): void {
    /* the shared HttpClient is closed by the provider pool */
  }
}
