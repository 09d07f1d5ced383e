/**
 * The console at /console: a static Preact page (no build step: Preact + htm ES modules served
 * from node_modules through an import map) and an admin-token API under /console/api — live
 * state and a server-sent-events feed from a ConsoleSource (this node's engine by default), and
 * management of apps, webhooks and Beams through the same services as the admin API
 * (apps-routes.ts, webhooks-routes.ts, beams-routes.ts). docs/console.md describes every page.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import type { App } from '../apps/app.js';
import { validateEvent, type EventBody } from '../http-api/publish.js';
import { sendJson, sendText } from '../platform/http-context.js';
import type { HeraldModule, ModuleContext } from '../core/module.js';
import { APPS_SERVICE } from '../app-store/module.js';
import { BEAMS_SERVICE } from '../beams/service.js';
import { WEBHOOKS_SERVICE } from '../webhooks/service.js';
import { invalid, notFound, rateLimited } from '../platform/errors.js';
import { registerAppRoutes } from './apps-routes.js';
import { registerBeamsRoutes } from './beams-routes.js';
import { consoleGuard, objectBody, type ConsoleGuard } from './guard.js';
import { LiveFeed } from './live-feed.js';
import { CONSOLE_CLUSTER_SERVICE, ClusterView } from './cluster.js';
import { CONSOLE_SOURCE_SERVICE, clusterSource, type ConsoleSource } from './sources.js';
import type { DeliveryRecord } from '../webhooks/delivery-log.js';
import { registerWebhookRoutes } from './webhooks-routes.js';

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

export function consoleModule(): HeraldModule {
  let feed: LiveFeed | undefined;
  let cluster: ClusterView | undefined;
  let detachWebhooks: (() => void) | undefined;
  const streams = new Set<ServerResponse>();

  return {
    name: 'console',
    provides: [CONSOLE_CLUSTER_SERVICE],
    // Webhooks: the live feed shows deliveries from the start, and its pages manage them.
    optional: [CONSOLE_SOURCE_SERVICE, WEBHOOKS_SERVICE],
    // Read per request by the management pages.
    later: [APPS_SERVICE, BEAMS_SERVICE],
    start(ctx) {
      const guard = consoleGuard(ctx.config.adminToken);
      // A source provided by another module replaces the cluster view over the control bus.
      const registered = ctx.optional(CONSOLE_SOURCE_SERVICE);
      if (!registered) {
        cluster = new ClusterView(ctx.engine);
        cluster.start();
        ctx.provide(CONSOLE_CLUSTER_SERVICE, cluster);
      }
      const source = registered ?? clusterSource(ctx.engine, cluster!);
      feed = new LiveFeed(source, cluster);
      feed.start();
      const liveFeed = feed;
      const webhooks = ctx.optional(WEBHOOKS_SERVICE);
      if (webhooks) {
        const onDelivery = (r: DeliveryRecord) =>
          liveFeed.webhook(r.appId, `webhook → ${r.url} ${r.outcome}${r.statusCode ? ` (HTTP ${r.statusCode})` : ''}`, r.outcome);
        webhooks.on('delivery', onDelivery);
        detachWebhooks = () => webhooks.off('delivery', onDelivery);
      }
      registerRoutes(ctx, guard, source, liveFeed, streams);
      registerAppRoutes(ctx, guard, source);
      registerWebhookRoutes(ctx, guard);
      registerBeamsRoutes(ctx, guard);
    },
    stop() {
      detachWebhooks?.();
      feed?.stop();
      cluster?.stop();
      for (const res of streams) res.end();
      streams.clear();
    },
  };
}

function registerRoutes(ctx: ModuleContext, guard: ConsoleGuard, source: ConsoleSource, feed: LiveFeed, streams: Set<ServerResponse>): void {
  const { router, apps, config } = ctx;
  const appsService = ctx.later(APPS_SERVICE);
  const beamsService = ctx.later(BEAMS_SERVICE);
  const webhooks = ctx.optional(WEBHOOKS_SERVICE);
  const rateLimiter = ctx.apiRateLimiter;
  const appOr404 = (id: string): App => {
    const app = apps.byId(id);
    if (!app) throw notFound(`Unknown app ${id.slice(0, 64)}`);
    return app;
  };

  router.add('GET', '/console', (http) => serveAsset(http.res, 'index.html'));
  router.add('GET', '/console/', (http) => serveAsset(http.res, 'index.html'));
  router.add('GET', '/console/assets/:file', (http) => serveAsset(http.res, http.params.file!));
  router.add('GET', '/console/vendor/:file', async (http) => {
    const file = http.params.file!;
    // Own keys only: `__proto__`, `constructor` or `toString` must not reach Object.prototype.
    const target = Object.hasOwn(VENDOR, file) ? VENDOR[file] : undefined;
    if (!target) throw notFound('Not found');
    // The packages' export maps hide dist/; their ES module builds sit beside the resolved entry.
    const body = await readFile(join(dirname(require.resolve(target.specifier)), target.file), 'utf8');
    http.res.writeHead(200, { 'Content-Type': ASSET_TYPES['.mjs']!, 'Cache-Control': 'public, max-age=3600' });
    http.res.end(body);
  });

  router.add('GET', '/console/api/session', (http) => {
    guard.admin(http);
    // What the page needs to write client snippets, and what its live numbers cover.
    const services = { apps: appsService() !== undefined, webhooks: webhooks !== undefined, beams: beamsService() !== undefined };
    sendJson(http.res, 200, { ok: true, adminApi: true, wsPath: config.wsPath, scope: source.scope, services });
  });

  router.add('GET', '/console/api/cluster', (http) => {
    guard.admin(http);
    const appId = http.queryValue('app') || undefined;
    if (appId) appOr404(appId);
    const nodes = source.nodes?.(appId) ?? [];
    sendJson(http.res, 200, { scope: source.scope.connections, nodes });
  });

  router.add('GET', '/console/api/apps/:appId/channels', async (http) => {
    guard.admin(http);
    const app = appOr404(http.params.appId!);
    const channels = await source.channels(app.id, http.queryValue('prefix') || undefined);
    sendJson(http.res, 200, { channels: channels.slice(0, 1000), total: channels.length, scope: source.scope.channels });
  });

  router.add('GET', '/console/api/apps/:appId/channels/:channel/members', async (http) => {
    guard.admin(http);
    const app = appOr404(http.params.appId!);
    sendJson(http.res, 200, { members: (await source.members(app.id, http.params.channel!)).slice(0, 1000) });
  });

  router.add('POST', '/console/api/apps/:appId/events', async (http) => {
    guard.write(http);
    const app = appOr404(http.params.appId!);
    // The app's HTTP API budget applies to events sent from the console too.
    if (!rateLimiter.take(app.id, app.limits.apiRequestsPerSecond)) {
      throw rateLimited(`Too many requests: this app is limited to ${app.limits.apiRequestsPerSecond} API requests per second`);
    }
    const body = (await objectBody(http)) as { channel?: unknown; event?: unknown; data?: unknown };
    // Seed 004: "You cannot trigger client events from the debug console" (only clients send them).
    if (typeof body.event === 'string' && body.event.startsWith('client-')) {
      throw invalid('You cannot trigger client events (client-*) from the console');
    }
    // The same validation and admission (quotas) as POST /apps/{id}/events.
    const event = validateEvent({ name: body.event, data: body.data, channels: [body.channel] } as EventBody, app);
    for (const hook of ctx.hooks.beforePublish) await hook(app, [event]);
    // Waits for the broker, as the HTTP API does: a refused publish (broker down) is a 503, not a lost event.
    await ctx.engine.publish({ appId: app.id, channels: event.channels, event: event.name, data: event.data });
    sendJson(http.res, 200, { ok: true });
  });

  router.add('GET', '/console/api/stream', (http) => {
    guard.admin(http);
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

async function serveAsset(res: ServerResponse, file: string): Promise<void> {
  if (!/^[\w.-]+$/.test(file) || file.startsWith('.')) throw notFound('Not found');
  const ext = file.slice(file.lastIndexOf('.'));
  const type = ASSET_TYPES[ext];
  if (!type) throw notFound('Not found');
  let body: Buffer;
  try {
    body = await readFile(join(ASSETS_DIR, file));
  } catch {
    throw notFound('Not found');
  }
  if (file === 'index.html') {
    sendText(res, 200, body.toString('utf8'), type);
    return;
  }
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length, 'Cache-Control': 'no-cache' });
  res.end(body);
}
