/**
 * Admin HTTP API for apps: /admin/apps[/{id}[/rotate-secret|/stats|/usage]], guarded by
 * `Authorization: Bearer <HERALD_ADMIN_TOKEN>`. Reference: docs/apps.md.
 */
import type { AppRegistry } from './registry.js';
import type { App } from './app.js';
import { AppStoreError } from './store.js';
import type { AppManager, RotateOptions } from './manager.js';
import type { UsageTracker } from './usage.js';
import { usageWindow } from './usage-window.js';
import { safeEqual } from '../protocol/signatures.js';
import { sendJson } from '../platform/http-context.js';
import type { HttpContext, Router } from '../platform/router.js';
import { DomainError, forbidden, invalid, notFound, unauthorized, type ErrorKind } from '../platform/errors.js';

export const ADMIN_DISABLED_MESSAGE =
  'The admin API is disabled: set HERALD_ADMIN_TOKEN (or --admin-token, at least 16 characters) to enable it';

/** Throws 403 when no admin token is configured, 401 when the request does not carry it. */
export function requireAdmin(ctx: HttpContext, adminToken: string | undefined): void {
  if (!adminToken) throw forbidden(ADMIN_DISABLED_MESSAGE, { code: 'admin_api_disabled' });
  const header = ctx.req.headers.authorization ?? '';
  const match = /^Bearer[ \t]+(\S{1,1024})[ \t]*$/i.exec(header);
  if (!match || !safeEqual(match[1]!, adminToken)) {
    ctx.res.setHeader('WWW-Authenticate', 'Bearer realm="herald-admin"');
    throw unauthorized('Missing or wrong admin token: send Authorization: Bearer <HERALD_ADMIN_TOKEN>', { code: 'unauthorized' });
  }
}

const KIND_BY_STORE_KIND: Record<AppStoreError['kind'], ErrorKind> = {
  not_found: 'not_found',
  conflict: 'conflict',
  invalid: 'invalid',
  limit: 'conflict',
  read_only: 'conflict',
  unavailable: 'unavailable',
};

/** Store refusals become domain errors with the same message (the store's kind as `code`); anything else is a 500 (logged). */
export async function storeCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppStoreError) throw new DomainError(KIND_BY_STORE_KIND[err.kind], err.message, { code: err.kind });
    if (err instanceof DomainError) throw err;
    // Logged as a 500 by the router: keep the message only, since database errors carry
    // row values in extra fields (`detail`, `where`) and a row may hold a secret.
    throw new Error(`app store: ${(err as Error).message}`);
  }
}

export interface AdminApiDeps {
  adminToken: string | undefined;
  apps: AppRegistry;
  /** Opens the store on first use (a fresh embedded store is created by the first admin call). */
  manager: () => Promise<AppManager>;
  usage: UsageTracker;
}

/** The usage window of a request's ?from=&to= or ?days=N (rule: usage-window.ts). */
export function usageRange(ctx: HttpContext): { from: string; to: string } {
  return usageWindow({ from: ctx.queryValue('from'), to: ctx.queryValue('to'), days: ctx.queryValue('days') });
}

async function objectBody(ctx: HttpContext, allowEmpty: boolean): Promise<Record<string, unknown>> {
  if (allowEmpty && (await ctx.body()).length === 0) return {};
  const body = await ctx.json<unknown>();
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid('The request body must be a JSON object');
  return body as Record<string, unknown>;
}

export function registerAdminApi(router: Router, deps: AdminApiDeps): void {
  const { usage } = deps;
  const manager = deps.manager;
  const admin = (handler: (ctx: HttpContext) => Promise<unknown> | unknown, status = 200) => async (ctx: HttpContext) => {
    requireAdmin(ctx, deps.adminToken);
    const result = await handler(ctx);
    ctx.res.setHeader('Cache-Control', 'no-store');
    sendJson(ctx.res, status, result);
  };
  // A path id that no app can have (the app schema's pattern) is refused before the store is
  // asked: PostgreSQL rejects some bytes (e.g. NUL) in text, which would otherwise be a 500.
  const storedId = (ctx: HttpContext): string => {
    const id = ctx.params.appId!;
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id)) throw notFound(`No app with id "${id.slice(0, 64)}"`, { code: 'not_found' });
    return id;
  };
  const servedApp = (id: string): App => {
    const app = deps.apps.byId(id);
    if (!app) throw notFound(`No app with id "${id.slice(0, 64)}" is being served`);
    return app;
  };

  router.add('GET', '/admin/apps', admin(async () => ({ apps: await storeCall(async () => (await manager()).list()) })));
  router.add('POST', '/admin/apps', admin(async (ctx) => storeCall(async () => (await manager()).create(await objectBody(ctx, false))), 201));
  router.add('GET', '/admin/apps/:appId', admin((ctx) => storeCall(async () => (await manager()).get(storedId(ctx)))));
  const update = admin(async (ctx) => {
    const id = storedId(ctx);
    const body = await objectBody(ctx, false);
    return storeCall(async () => (await manager()).update(id, body));
  });
  router.add('PATCH', '/admin/apps/:appId', update);
  router.add('PUT', '/admin/apps/:appId', update);
  router.add(
    'DELETE',
    '/admin/apps/:appId',
    admin(async (ctx) => {
      const id = storedId(ctx);
      await storeCall(async () => (await manager()).delete(id));
      return { deleted: id };
    }),
  );
  router.add(
    'POST',
    '/admin/apps/:appId/rotate-secret',
    admin(async (ctx) => {
      const id = storedId(ctx);
      const body = await objectBody(ctx, true);
      for (const key of Object.keys(body)) {
        if (key !== 'newKey' && key !== 'keepPrevious') throw invalid(`Unknown option "${key.slice(0, 64)}" (newKey, keepPrevious)`);
        if (typeof body[key] !== 'boolean') throw invalid(`${key} must be true or false`);
      }
      return storeCall(async () => (await manager()).rotateSecret(id, body as RotateOptions));
    }),
  );
  router.add(
    'GET',
    '/admin/apps/:appId/stats',
    admin(async (ctx) => {
      const app = servedApp(ctx.params.appId!);
      await usage.settled(); // the whole node's counters (a worker of a multi-worker node)
      return usage.stats(app);
    }),
  );
  router.add(
    'GET',
    '/admin/apps/:appId/usage',
    admin(async (ctx) => {
      const app = servedApp(ctx.params.appId!);
      const { from, to } = usageRange(ctx);
      await usage.settled();
      const days = await usage.history(app.id, from, to);
      const totals = { messages: 0, messagesSent: 0, clientEvents: 0, messagesDelivered: 0, apiCalls: 0, webhooksSent: 0, connections: 0, peakConnections: 0 };
      for (const d of days) {
        for (const key of Object.keys(totals) as Array<keyof typeof totals>) {
          totals[key] = key === 'peakConnections' ? Math.max(totals[key], d[key]) : totals[key] + d[key];
        }
      }
      return { appId: app.id, from, to, days, totals };
    }),
  );
}
