/**
 * Provider instances per Beams instance, rebuilt when the instance's settings change (its
 * updatedAt moves). APNs keeps an HTTP/2 session; FCM and Web Push share one pooled HTTP client.
 */
import type { BeamsInstance } from '../instances.js';
import { ApnsProvider } from './apns.js';
import { FcmProvider } from './fcm.js';
import { HttpClient } from './http.js';
import { WebPushProvider } from './web-push.js';

export interface InstanceProviders {
  apns?: ApnsProvider;
  fcm?: FcmProvider;
  web: WebPushProvider;
}

export class ProviderPool {
  private readonly http: HttpClient;
  private readonly entries = new Map<string, { version: number; providers: InstanceProviders }>();

  constructor(options: { maxSocketsPerOrigin?: number; timeoutMs?: number } = {}) {
    this.http = new HttpClient({ maxSocketsPerOrigin: options.maxSocketsPerOrigin ?? 64, timeoutMs: options.timeoutMs ?? 30_000 });
  }

  for(instance: BeamsInstance): InstanceProviders {
    const version = instance.updatedAt.getTime();
    const existing = this.entries.get(instance.id);
    if (existing && existing.version === version) return existing.providers;
    // Jobs may still be sending through the old providers: close them once those sends are over.
    if (existing) setTimeout(() => close(existing.providers), 60_000).unref();
    const { apns, fcm, web } = instance.settings;
    const providers: InstanceProviders = {
      ...(apns ? { apns: new ApnsProvider(apns) } : {}),
      ...(fcm ? { fcm: new FcmProvider(fcm, this.http) } : {}),
      web: new WebPushProvider(web, this.http),
    };
    this.entries.set(instance.id, { version, providers });
    return providers;
  }

  forget(instanceId: string): void {
    const existing = this.entries.get(instanceId);
    if (existing) close(existing.providers);
    this.entries.delete(instanceId);
  }

  closeAll(): void {
    for (const { providers } of this.entries.values()) close(providers);
    this.entries.clear();
    this.http.close();
  }
}

function close(providers: InstanceProviders): void {
  providers.apns?.close();
  providers.fcm?.close();
  providers.web.close();
}
