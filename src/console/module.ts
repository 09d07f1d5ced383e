/**
 * The live debug console at /console: a static Preact page (no build step: Preact + htm ES modules
 * served from node_modules through an import map) and a small admin-token API with a live
 * server-sent-events stream fed by the same engine that serves WebSocket clients.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import type { App } from '../apps/app.js';
import { validateEvent, type EventBody } from '../http-api/publish.js';
import { safeEqual } from '../protocol/signatures.js';
import { sendJson, sendText } from '../server/http-context.js';
import type { HeraldModule, ModuleContext } from '../server/module.js';
import { HttpError, type HttpContext } from '../server/router.js';
import { LiveFeed } from './live-feed.js';
import { validatePublish } from '../beams/validation.js';

const ASSETS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'assets');
const require = createRequire(import.meta.url);

/** Browser modules served from installed packages, so users never run a front-end build. */
const VENDOR: Record<string, { specifier: string; file: string }> = {
  'preact.mjs': { specifier: 'preact', file: 'preact.module.js' },
  'hooks.mjs': { specifier: 'preact/hooks', file: 'hooks.module.js' },
  'htm.mjs': { specifier: 'htm', file: 'htm.module.js' },
};

const ASSET_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface DeliveryRecordLike {
  appId: string;
  url: string;
  status: string;
  httpStatus?: number | null;
  latencyMs?: number | null;
  eventCount?: number;
}

interface WebhooksLike {
  on(event: 'delivery', listener: (record: DeliveryRecordLike) => void): unknown;
  off(event: 'delivery', listener: (record: DeliveryRecordLike) => void): unknown;
  recentDeliveries(appId: string, limit: number): Promise<unknown[]>;
}

interface BeamsLike {
  instances: { list(): Promise<Array<{ id: string }>> };
  instance(id: string): Promise<unknown>;
  publish(instance: any, request: any): Promise<string>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export function consoleModule(): HeraldModule {
  let feed: LiveFeed | undefined;
  let detachWebhooks: (() => void) | undefined;
  const streams = new Set<ServerResponse>();

  return {
    name: 'console',
    start(ctx) {
      feed = new LiveFeed(ctx.engine);
      feed.start();
      const liveFeed = feed;
      const webhooks = ctx.services.get('webhooks') as WebhooksLike | undefined;
      if (webhooks) {
        const onDelivery = (r: DeliveryRecordLike) =>
          liveFeed.webhook(r.appId, `webhook → ${r.url} ${r.status}${r.httpStatus ? ` (HTTP ${r.httpStatus})` : ''}`, r.status);
        webhooks.on('delivery', onDelivery);
        detachWebhooks = () => webhooks.off('delivery', onDelivery);
      }
      registerRoutes(ctx, liveFeed, streams, webhooks);
    },
    stop() {
      detachWebhooks?.();
      feed?.stop();
      for (const res of streams) res.end();
      streams.clear();
    },
  };
}

function registerRoutes(ctx: ModuleContext, feed: LiveFeed, streams: Set<ServerResponse>, webhooks: WebhooksLike | undefined): void {
  const { router, engine, apps, config } = ctx;

  const requireAdmin = (http: HttpContext) => {
    if (!config.adminToken) throw new HttpError(403, 'The console is disabled: set HERALD_ADMIN_TOKEN to enable it');
    const header = http.req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!safeEqual(token, config.adminToken)) throw new HttpError(401, 'Invalid admin token');
  };
  const appOr404 = (id: string): App => {
    const app = apps.byId(id);
    if (!app) throw new HttpError(404, `Unknown app ${id}`);
    return app;
  };

  router.add('GET', '/console', (http) => serveAsset(http.res, 'index.html'));
  router.add('GET', '/console/', (http) => serveAsset(http.res, 'index.html'));
  router.add('GET', '/console/assets/:file', (http) => serveAsset(http.res, http.params.file!));
  router.add('GET', '/console/vendor/:file', async (http) => {
    const file = http.params.file!;
    // Own keys only: `__proto__`, `constructor` or `toString` must not reach Object.prototype.
    const target = Object.hasOwn(VENDOR, file) ? VENDOR[file] : undefined;
    if (!target) throw new HttpError(404, 'Not found');
    // The packages' export maps hide dist/; their ES module builds sit beside the resolved entry.
    const body = await readFile(join(dirname(require.resolve(target.specifier)), target.file), 'utf8');
    http.res.writeHead(200, { 'Content-Type': ASSET_TYPES['.mjs']!, 'Cache-Control': 'public, max-age=3600' });
    http.res.end(body);
  });

  router.add('GET', '/console/api/session', (http) => {
    requireAdmin(http);
    sendJson(http.res, 200, { ok: true, adminApi: true });
  });

  router.add('GET', '/console/api/apps', (http) => {
    requireAdmin(http);
    sendJson(http.res, 200, {
      apps: apps.list().map((a) => ({ id: a.id, name: a.name ?? a.id, key: a.key, enabled: a.enabled, connections: engine.connectionCount(a.id) })),
    });
  });

  router.add('GET', '/console/api/apps/:appId', (http) => {
    requireAdmin(http);
    const app = appOr404(http.params.appId!);
    // Settings without secrets: the console shows configuration, never credentials.
    const { secret: _secret, credentials: _credentials, extraCredentials, webhooks: hooks, ...settings } = app;
    sendJson(http.res, 200, {
      app: { ...settings, extraKeys: extraCredentials.map((c) => c.key), webhooks: hooks.map((w) => ({ ...w, headers: w.headers ? Object.keys(w.headers) : [] })) },
    });
  });

  router.add('GET', '/console/api/apps/:appId/channels', async (http) => {
    requireAdmin(http);
    const app = appOr404(http.params.appId!);
    const channels = await engine.queries.channels(app.id, http.queryValue('prefix') || undefined);
    sendJson(http.res, 200, { channels: channels.slice(0, 1000), total: channels.length });
  });

  router.add('GET', '/console/api/apps/:appId/channels/:channel/members', async (http) => {
    requireAdmin(http);
    const app = appOr404(http.params.appId!);
    sendJson(http.res, 200, { members: (await engine.queries.members(app.id, http.params.channel!)).slice(0, 1000) });
  });

  router.add('POST', '/console/api/apps/:appId/events', async (http) => {
    requireAdmin(http);
    const app = appOr404(http.params.appId!);
    const body = objectBody(await http.json<unknown>()) as { channel?: unknown; event?: unknown; data?: unknown };
    // The same validation and admission (quotas) as POST /apps/{id}/events.
    const event = validateEvent({ name: body.event, data: body.data, channels: [body.channel] } as EventBody, app);
    for (const hook of ctx.hooks.beforePublish) await hook(app, [event]);
    engine.publish({ appId: app.id, channels: event.channels, event: event.name, data: event.data });
    sendJson(http.res, 200, { ok: true });
  });

  router.add('GET', '/console/api/apps/:appId/webhooks', async (http) => {
    requireAdmin(http);
    const app = appOr404(http.params.appId!);
    sendJson(http.res, 200, { available: !!webhooks, deliveries: webhooks ? await webhooks.recentDeliveries(app.id, 50) : [] });
  });

  // Beams panel: instances and a test publish, through the same validation and queue as the Publish API.
  router.add('GET', '/console/api/beams/instances', async (http) => {
    requireAdmin(http);
    const beams = ctx.services.get('beams') as BeamsLike | undefined;
    if (!beams) throw new HttpError(404, 'Beams is not enabled on this server');
    const instances = await beams.instances.list();
    sendJson(http.res, 200, { available: true, instances: instances.map((i) => ({ id: i.id })) });
  });
  router.add('POST', '/console/api/beams/instances/:instanceId/publish', async (http) => {
    requireAdmin(http);
    const beams = ctx.services.get('beams') as BeamsLike | undefined;
    if (!beams) throw new HttpError(404, 'Beams is not enabled on this server');
    const body = objectBody(await http.json<unknown>()) as { interest?: unknown; title?: unknown; body?: unknown };
    const notification = { title: String(body.title ?? ''), body: String(body.body ?? '') };
    let request;
    try {
      request = validatePublish('interests', {
        interests: [body.interest],
        web: { notification },
        fcm: { notification },
        apns: { aps: { alert: notification } },
      });
    } catch (err) {
      throw new HttpError(400, (err as Error & { description?: string }).description ?? (err as Error).message);
    }
    try {
      const instance = await beams.instance(http.params.instanceId!);
      sendJson(http.res, 200, { publishId: await beams.publish(instance, request) });
    } catch (err) {
      // Beams refusals (unknown instance 404, rate limit 429, oversized 422) keep their status.
      const refusal = err as Error & { status?: unknown; description?: string };
      if (typeof refusal.status === 'number' && refusal.status < 500) throw new HttpError(refusal.status, refusal.description ?? refusal.message);
      throw err;
    }
  });

  router.add('GET', '/console/api/stream', (http) => {
    requireAdmin(http);
    const appId = http.queryValue('app') || undefined;
    if (appId) appOr404(appId);
    const res = http.res;
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.write(': herald console stream\n\n');
    streams.add(res);
    const unsubscribe = feed.subscribe({
      appId,
      send: (kind, payload) => {
        if (!res.writableEnded) res.write(`event: ${kind}\ndata: ${JSON.stringify(payload)}\n\n`);
      },
    });
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    keepAlive.unref();
    http.req.on('close', () => {
      clearInterval(keepAlive);
      unsubscribe();
      streams.delete(res);
    });
  });
}

/** JSON bodies must be objects: `null`, arrays and scalars answer 400 instead of failing later. */
function objectBody(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'The request body must be a JSON object');
  return body as Record<string, unknown>;
}

async function serveAsset(res: ServerResponse, file: string): Promise<void> {
  if (!/^[\w.-]+$/.test(file) || file.startsWith('.')) throw new HttpError(404, 'Not found');
  const ext = file.slice(file.lastIndexOf('.'));
  const type = ASSET_TYPES[ext];
  if (!type) throw new HttpError(404, 'Not found');
  let body: Buffer;
  try {
    body = await readFile(join(ASSETS_DIR, file));
  } catch {
    throw new HttpError(404, 'Not found');
  }
  if (file === 'index.html') {
    sendText(res, 200, body.toString('utf8'), type);
    return;
  }
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length, 'Cache-Control': 'no-cache' });
  res.end(body);
}
