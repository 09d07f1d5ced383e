/**
 * Delivery-log endpoints (docs/webhooks.md):
 *   GET /apps/{appId}/webhooks/log         signed like the Pusher HTTP API (auth_key, auth_signature…)
 *   GET /admin/apps/{appId}/webhooks/log   Authorization: Bearer {adminToken}
 * Query: `limit` (1–1000, default 100), `before` (a delivery id, to page back).
 *
 * Operator actions (admin token), used by the console:
 *   GET  /admin/apps/{appId}/webhooks/endpoints   endpoints with their queue (pending, next retry, attempts)
 *   POST /admin/apps/{appId}/webhooks/test        {"url"}: one signed `herald_test` event now
 *   POST /admin/apps/{appId}/webhooks/retry       {"url"}: waiting retries are sent now
 */
// The shared /admin guard (Bearer HERALD_ADMIN_TOKEN, constant-time compare; 401 / 403 when disabled).
import { requireAdmin } from '../apps/admin-api.js';
import type { AppRegistry } from '../apps/registry.js';
import { authenticateApiRequest } from '../http-api/authenticate.js';
import { sendJson } from '../platform/http-context.js';
import type { HttpContext, Router } from '../platform/router.js';
import { DomainError, invalid, notFound, unavailable } from '../platform/errors.js';
import { deliveryJson } from './delivery-log.js';
import { UnknownEndpointError, type WebhookService } from './service.js';
import type { App } from '../apps/app.js';

export interface WebhookRouteDeps {
  apps: AppRegistry;
  service: WebhookService;
  adminToken: string | undefined;
  nowSeconds?: () => number;
}

export function registerWebhookRoutes(router: Router, deps: WebhookRouteDeps): void {
  const nowSeconds = deps.nowSeconds ?? (() => Math.floor(Date.now() / 1000));

  router.add('GET', '/apps/:appId/webhooks/log', async (ctx) => {
    const app = await authenticateApiRequest(ctx, deps.apps, nowSeconds());
    await sendLog(ctx, deps.service, app.id);
  });

  router.add('GET', '/admin/apps/:appId/webhooks/log', async (ctx) => {
    requireAdmin(ctx, deps.adminToken);
    const app = deps.apps.byId(ctx.params.appId ?? '');
    if (!app) throw notFound(`Unknown app id ${String(ctx.params.appId).slice(0, 100)}`);
    await sendLog(ctx, deps.service, app.id);
  });

  const adminApp = (ctx: HttpContext): App => {
    requireAdmin(ctx, deps.adminToken);
    const app = deps.apps.byId(ctx.params.appId ?? '');
    if (!app) throw notFound(`Unknown app id ${String(ctx.params.appId).slice(0, 100)}`);
    ctx.res.setHeader('Cache-Control', 'no-store');
    return app;
  };
  router.add('GET', '/admin/apps/:appId/webhooks/endpoints', async (ctx) => {
    const app = adminApp(ctx);
    sendJson(ctx.res, 200, { app_id: app.id, endpoints: await webhookAction(() => endpointsWithQueues(deps.service, app)) });
  });
  router.add('POST', '/admin/apps/:appId/webhooks/test', async (ctx) => {
    const app = adminApp(ctx);
    const url = await endpointUrl(ctx);
    sendJson(ctx.res, 200, deliveryJson(await webhookAction(() => deps.service.testSend(app, url))));
  });
  router.add('POST', '/admin/apps/:appId/webhooks/retry', async (ctx) => {
    const app = adminApp(ctx);
    const url = await endpointUrl(ctx);
    sendJson(ctx.res, 200, { retried: await webhookAction(() => deps.service.retryNow(app, url)) });
  });
}

/** Bodies of the action routes: `{"url": "<one of the app's endpoint URLs>"}`. */
async function endpointUrl(ctx: HttpContext): Promise<string> {
  const body = await ctx.json<unknown>();
  const url = (body as { url?: unknown } | null)?.url;
  if (typeof url !== 'string' || url.length === 0 || url.length > 2048) throw invalid('Send {"url": "<endpoint URL>"}');
  return url;
}

/** Unknown endpoints are `not_found`, an outbox that cannot be reached `unavailable`. */
export async function webhookAction<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof UnknownEndpointError) throw notFound(err.message);
    if (err instanceof DomainError) throw err;
    throw unavailable('Webhook outbox unavailable (database not reachable)');
  }
}

/** An app's endpoints (header values hidden: they often carry credentials) with their queues. */
export async function endpointsWithQueues(service: WebhookService, app: App): Promise<Array<Record<string, unknown>>> {
  const queues = new Map((await service.endpointQueues(app.id)).map((q) => [q.url, q]));
  return app.webhooks.map((w, index) => {
    const queue = queues.get(w.url);
    return {
      index,
      url: w.url,
      events: w.events ?? null,
      channelPrefix: w.channelPrefix ?? null,
      headerNames: Object.keys(w.headers ?? {}),
      pending: queue?.pending ?? 0,
      nextAttemptAt: queue?.nextAttemptAt ?? null,
      attempts: queue?.attempts ?? 0,
      lastError: queue?.lastError ?? null,
    };
  });
}

async function sendLog(ctx: HttpContext, service: WebhookService, appId: string): Promise<void> {
  const limit = intParam(ctx, 'limit', 1, 1000) ?? 100;
  const before = intParam(ctx, 'before', 1, Number.MAX_SAFE_INTEGER);
  let deliveries;
  let pending;
  try {
    [deliveries, pending] = await Promise.all([service.recentDeliveries(appId, limit, before), service.pendingCount(appId)]);
  } catch {
    throw unavailable('Webhook delivery log unavailable (database not reachable)');
  }
  const last = deliveries[deliveries.length - 1];
  ctx.res.setHeader('Cache-Control', 'no-store');
  sendJson(ctx.res, 200, {
    app_id: appId,
    pending,
    deliveries: deliveries.map(deliveryJson),
    next_before: deliveries.length === limit && last?.id !== undefined ? last.id : null,
  });
}

function intParam(ctx: HttpContext, name: string, min: number, max: number): number | undefined {
  const raw = ctx.queryValue(name);
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d{1,16}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw invalid(`${name} must be a whole number from ${min} to ${max}`);
  }
  return Number(raw);
}
