/**
 * The console's webhook pages: endpoints (add, edit, remove — stored in the app, so through the
 * AppManager with the app schema's validation), their queues, test sends, "retry now", and the
 * delivery log. Endpoints are named by URL, as the outbox names them.
 */
import type { WebhookEndpoint } from '../apps/app.js';
import { storeCall } from '../apps/admin-api.js';
import { APPS_SERVICE } from '../app-store/module.js';
import { sendJson } from '../platform/http-context.js';
import type { ModuleContext } from '../core/module.js';
import type { HttpContext } from '../platform/router.js';
import { invalid, notFound } from '../platform/errors.js';
import { deliveryJson } from '../webhooks/delivery-log.js';
import { endpointsWithQueues, webhookAction } from '../webhooks/routes.js';
import { WEBHOOKS_SERVICE } from '../webhooks/service.js';
import { objectBody, type ConsoleGuard } from './guard.js';

const DELIVERIES_SHOWN = 50;

/** The endpoint fields the page sends; `headers` omitted on an edit keeps the stored ones. */
function endpointInput(value: unknown): Partial<WebhookEndpoint> & { url: unknown } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid('endpoint must be an object {url, events, channelPrefix, headers}');
  const { url, events, channelPrefix, headers, ...unknown } = value as Record<string, unknown>;
  const extra = Object.keys(unknown);
  if (extra.length > 0) throw invalid(`Unknown endpoint field "${extra[0]!.slice(0, 64)}" (url, events, channelPrefix, headers)`);
  const out: Record<string, unknown> = { url };
  if (events !== undefined && events !== null) out.events = events;
  if (typeof channelPrefix === 'string' ? channelPrefix !== '' : channelPrefix !== undefined && channelPrefix !== null) out.channelPrefix = channelPrefix;
  if (headers !== undefined && headers !== null) out.headers = headers;
  return out as Partial<WebhookEndpoint> & { url: unknown };
}

async function urlBody(http: HttpContext): Promise<{ url: string; body: Record<string, unknown> }> {
  const body = await objectBody(http);
  if (typeof body.url !== 'string' || body.url.length === 0) throw invalid('Send {"url": "<endpoint URL>"}');
  return { url: body.url, body };
}

export function registerWebhookRoutes(ctx: ModuleContext, guard: ConsoleGuard): void {
  const { router, apps } = ctx;
  const webhookService = ctx.optional(WEBHOOKS_SERVICE);
  const webhooks = () => webhookService;
  const appsService = ctx.later(APPS_SERVICE);
  const manager = async () => {
    const service = appsService();
    if (!service) throw notFound('App management is not enabled on this server (apps module)');
    return service.manager();
  };
  const servedApp = (http: HttpContext) => {
    const app = apps.byId(http.params.appId!);
    if (!app) throw notFound(`Unknown app ${http.params.appId!.slice(0, 64)}`);
    return app;
  };
  const requireService = () => {
    const service = webhooks();
    if (!service) throw notFound('Webhooks are not enabled on this server');
    return service;
  };
  /** Replaces the app's endpoint list through the AppManager (validation, read-only config apps). */
  const editEndpoints = async (id: string, edit: (current: WebhookEndpoint[]) => unknown[]) =>
    storeCall(async () => {
      const m = await manager();
      const current = await m.get(id);
      return m.update(id, { webhooks: edit(current.webhooks) });
    });

  router.add('GET', '/console/api/apps/:appId/webhooks', async (http) => {
    guard.admin(http);
    const app = servedApp(http);
    const service = webhooks();
    if (!service) {
      sendJson(http.res, 200, { available: false, endpoints: [], deliveries: [] });
      return;
    }
    const [endpoints, deliveries] = await webhookAction(() => Promise.all([endpointsWithQueues(service, app), service.recentDeliveries(app.id, DELIVERIES_SHOWN)]));
    sendJson(http.res, 200, { available: true, endpoints, deliveries: deliveries.map(deliveryJson) });
  });

  router.add('POST', '/console/api/apps/:appId/webhooks', async (http) => {
    guard.write(http);
    const app = servedApp(http);
    const endpoint = endpointInput((await objectBody(http)).endpoint);
    await editEndpoints(app.id, (current) => [...current, endpoint]);
    sendJson(http.res, 201, { added: endpoint.url });
  });

  router.add('POST', '/console/api/apps/:appId/webhooks/update', async (http) => {
    guard.write(http);
    const app = servedApp(http);
    const { url, body } = await urlBody(http);
    const endpoint = endpointInput(body.endpoint);
    await editEndpoints(app.id, (current) => {
      const index = current.findIndex((w) => w.url === url);
      if (index < 0) throw notFound(`App ${app.id} has no webhook endpoint ${url.slice(0, 200)}`);
      const next: unknown[] = [...current];
      next[index] = { ...endpoint, ...(endpoint.headers === undefined && current[index]!.headers ? { headers: current[index]!.headers } : {}) };
      return next;
    });
    sendJson(http.res, 200, { updated: endpoint.url });
  });

  router.add('POST', '/console/api/apps/:appId/webhooks/remove', async (http) => {
    guard.write(http);
    const app = servedApp(http);
    const { url } = await urlBody(http);
    await editEndpoints(app.id, (current) => {
      if (!current.some((w) => w.url === url)) throw notFound(`App ${app.id} has no webhook endpoint ${url.slice(0, 200)}`);
      return current.filter((w) => w.url !== url);
    });
    sendJson(http.res, 200, { removed: url });
  });

  router.add('POST', '/console/api/apps/:appId/webhooks/test', async (http) => {
    guard.write(http);
    const app = servedApp(http);
    const { url } = await urlBody(http);
    const service = requireService();
    sendJson(http.res, 200, { delivery: deliveryJson(await webhookAction(() => service.testSend(app, url))) });
  });

  router.add('POST', '/console/api/apps/:appId/webhooks/retry', async (http) => {
    guard.write(http);
    const app = servedApp(http);
    const { url } = await urlBody(http);
    const service = requireService();
    sendJson(http.res, 200, { retried: await webhookAction(() => service.retryNow(app, url)) });
  });
}
