/**
 * The provider seam: one implementation per gateway (apns.ts, fcm.ts, web-push.ts). Delivery only
 * sees outcomes, so it can count, retry and prune devices without knowing gateway details.
 */
import type { DeviceTarget } from '../store.js';

export type SendOutcome =
  | { kind: 'delivered' }
  /** The gateway says this token will never work again: the device is removed. */
  | { kind: 'invalid-token'; reason: string }
  | { kind: 'failed'; reason: string; retryable: boolean; retryAfterMs?: number };

export interface PushProvider<Message> {
  send(device: DeviceTarget, message: Message, signal: AbortSignal): Promise<SendOutcome>;
  close(): void;
}

export const delivered: SendOutcome = { kind: 'delivered' };

export function failed(reason: string, retryable: boolean, retryAfterMs?: number): SendOutcome {
  return retryAfterMs === undefined ? { kind: 'failed', reason, retryable } : { kind: 'failed', reason, retryable, retryAfterMs };
}

/** Outcome for a network error or timeout (always worth retrying unless we are shutting down). */
export function networkFailure(err: unknown): SendOutcome {
  return failed(`network error: ${(err as Error)?.message ?? String(err)}`, true);
}

/** Parses an HTTP Retry-After value (seconds or date) into milliseconds, capped. */
export function retryAfterMs(value: string | string[] | undefined, capMs = 60_000): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  const seconds = Number(raw);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(raw) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), capMs) : undefined;
}
