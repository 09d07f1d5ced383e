/**
 * What the metrics module reads from the webhooks service (WEBHOOKS_SERVICE, src/webhooks/service.ts),
 * all checked and optional: a missing or differently shaped service just leaves its metrics empty.
 *
 * Expected:
 *   on('delivery', (record) => …)   one record per HTTP attempt or given-up batch:
 *                                   { appId, outcome: delivered|failed|expired|dropped, events, latencyMs? }
 *   off('delivery', listener)       to detach on stop (optional)
 *   stats()                         { buffered, dropped }: events not yet written to the outbox, and
 *                                   events lost because that buffer was full (cumulative)
 *   queueDepth()                    optional: events waiting in total (buffer + outbox), number or Promise
 */

export const WEBHOOK_OUTCOMES = ['delivered', 'failed', 'expired', 'dropped'] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number] | 'other';

export interface WebhookDelivery {
  appId: string;
  outcome: WebhookOutcome;
  events: number;
  latencyMs: number | undefined;
}

export interface WebhookGauges {
  buffered: number;
  dropped: number;
}

type Listener = (record: unknown) => void;

interface WebhooksLike {
  on?: (event: string, listener: Listener) => unknown;
  off?: (event: string, listener: Listener) => unknown;
  stats?: () => unknown;
  queueDepth?: () => unknown;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

/** Normalizes one delivery record; undefined when it is not one. */
export function toDelivery(record: unknown): WebhookDelivery | undefined {
  if (!record || typeof record !== 'object') return undefined;
  const r = record as Record<string, unknown>;
  if (typeof r.appId !== 'string') return undefined;
  const outcome = (WEBHOOK_OUTCOMES as readonly unknown[]).includes(r.outcome) ? (r.outcome as WebhookOutcome) : 'other';
  const latency = r.latencyMs;
  return { appId: r.appId, outcome, events: count(r.events), latencyMs: typeof latency === 'number' && Number.isFinite(latency) && latency >= 0 ? latency : undefined };
}

/** Subscribes to delivery records; returns the detach function, or undefined when unsupported. */
export function onWebhookDelivery(service: unknown, handler: (delivery: WebhookDelivery) => void): (() => void) | undefined {
  const s = service as WebhooksLike | undefined;
  if (!s || typeof s.on !== 'function') return undefined;
  const listener: Listener = (record) => {
    const delivery = toDelivery(record);
    if (delivery) handler(delivery);
  };
  s.on('delivery', listener);
  return () => {
    if (typeof s.off === 'function') s.off('delivery', listener);
  };
}

/** Reads the buffer numbers; undefined when the service is absent, has no stats(), or it throws. */
export function readWebhookGauges(service: unknown): WebhookGauges | undefined {
  const s = service as WebhooksLike | undefined;
  if (!s || typeof s.stats !== 'function') return undefined;
  try {
    const raw = s.stats.call(s) as Record<string, unknown> | undefined;
    if (!raw || typeof raw !== 'object') return undefined;
    return { buffered: count(raw.buffered), dropped: count(raw.dropped) };
  } catch {
    return undefined;
  }
}

/** Events waiting in total: queueDepth() when offered (bounded wait), else the unwritten buffer. */
export async function readWebhookQueueDepth(service: unknown, timeoutMs = 2000): Promise<number | undefined> {
  const s = service as WebhooksLike | undefined;
  if (s && typeof s.queueDepth === 'function') {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs);
      });
      const value = await Promise.race([Promise.resolve(s.queueDepth.call(s)), timeout]);
      if (value !== undefined) return count(value);
    } catch {
      /* fall back to the buffer */
    } finally {
      clearTimeout(timer);
    }
  }
  return readWebhookGauges(service)?.buffered;
}
