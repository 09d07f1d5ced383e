/**
 * Delivery-log endpoints (docs/webhooks.md):
 *   GET /apps/{appId}/webhooks/log         signed like the Pusher HTTP API (auth_key, auth_signature…)
 *   GET /admin/apps/{appId}/webhooks/log   Authorization: Bearer {adminToken}
 * Query: `limit` (1–1000, default 100), `before` (a delivery id, to page back).
 */
// The shared /admin guard (Bearer HERALD_ADMIN_TOKEN, constant-time compare; 401 / 403 when disabled).
import { requireAdmin } from '../apps/admin-api.js';
import type { AppRegistry } from '../apps/registry.js';
import { authenticateApiRequest } from '../http-api/authenticate.js';
import { sendJson } from '../server/http-context.js';
import { HttpError, type HttpContext, type Router } from '../server/router.js';
import { deliveryJson } from './delivery-log.js';
import type { WebhookService } from './service.js';

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
    if (!app) throw new HttpError(404, `Unknown app id ${String(ctx.params.appId).slice(0, 100)}`);
    await sendLog(ctx, deps.service, app.id);
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
    throw new HttpError(503, 'Webhook delivery log unavailable (database not reachable)');
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
    throw new HttpError(400, `${name} must be a whole number from ${min} to ${max}`);
  }
  return Number(raw);
}
