/**
 * Counts webhook requests per app for usage stats, from the 'webhooks' service when the webhooks
 * capability is present (src/webhooks/service.ts: an EventEmitter emitting 'delivery' with one
 * delivery-log record per attempt). Duck-typed so neither capability imports the other: every
 * record whose outcome is 'delivered' or 'failed' was one HTTP request sent, as Pusher counts
 * webhook calls; 'expired' and 'dropped' records sent nothing.
 */

export const WEBHOOKS_SERVICE = 'webhooks';

interface DeliveryLike {
  appId?: unknown;
  outcome?: unknown;
}

type Listener = (record: DeliveryLike) => void;

interface EmitterLike {
  on(event: 'delivery', listener: Listener): unknown;
  off(event: 'delivery', listener: Listener): unknown;
}

/** Subscribes to webhook deliveries; returns an unsubscribe function, or undefined when unavailable. */
export function subscribeWebhookUsage(service: unknown, count: (appId: string, requests: number) => void): (() => void) | undefined {
  const emitter = service as Partial<EmitterLike> | undefined;
  if (!emitter || typeof emitter.on !== 'function' || typeof emitter.off !== 'function') return undefined;
  const listener: Listener = (record) => {
    if (!record || typeof record.appId !== 'string') return;
    if (record.outcome === 'delivered' || record.outcome === 'failed') count(record.appId, 1);
  };
  emitter.on('delivery', listener);
  return () => emitter.off!('delivery', listener);
}
