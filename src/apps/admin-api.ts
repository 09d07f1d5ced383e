/**
 * Admin HTTP API for apps: /admin/apps[/{id}[/rotate-secret|/stats|/usage]], guarded by
 * `Authorization: Bearer <HERALD_ADMIN_TOKEN>`. Reference: docs/apps.md.
 */
import type { AppRegistry } from './registry.js';
import type { App } from './app.js';
import { AppStoreError } from './store.js';
import type { AppManager, RotateOptions } from './manager.js';
import type { UsageTracker } from './usage.js';
import { USAGE_RETENTION_DAYS, utcDay } from './usage-store.js';
import { safeEqual } from '../protocol/signatures.js';
import { sendJson } from '../platform/http-context.js';
import { HttpError, type HttpContext, type Router } from '../platform/router.js';

export const ADMIN_DISABLED_MESSAGE =
  'The admin API is disabled: set HERALD_ADMIN_TOKEN (or --admin-token, at least 16 characters) to enable it';

/** Throws 403 when no admin token is configured, 401 when the request does not carry it. */
export function requireAdmin(ctx: HttpContext, adminToken: string | undefined): void {
  if (!adminToken) throw new HttpError(403, ADMIN_DISABLED_MESSAGE, 'admin_api_disabled');
  const header = ctx.req.headers.authorization ?? '';
  const match = /^Bearer[ \t]+(\S{1,1024})[ \t]*$/i.exec(header);
  if (!match || !safeEqual(match[1]!, adminToken)) {
    ctx.res.setHeader('WWW-Authenticate', 'Bearer realm="herald-admin"');
    throw new HttpError(401, 'Missing or wrong admin token: send Authorization: Bearer <HERALD_ADMIN_TOKEN>', 'unauthorized');
  }
}

const STATUS_BY_KIND: Record<AppStoreError['kind'], number> = { not_found: 404, conflict: 409, invalid: 400, limit: 409, read_only: 409, unavailable: 503 };

/** Store refusals become HTTP errors with the same message; anything else is a 500 (logged). */
export async function storeCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppStoreError) throw new HttpError(STATUS_BY_KIND[err.kind], err.message, err.kind);
    if (err instanceof HttpError) throw err;
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

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

function dayParam(ctx: HttpContext, name: string): string | undefined {
  const value = ctx.queryValue(name);
  if (value === undefined || value === '') return undefined;
  if (!DAY_PATTERN.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
    throw new HttpError(400, `${name} must be a date as YYYY-MM-DD (UTC)`);
  }
  return value;
}

function shiftDay(day: string, days: number): string {
  return utcDay(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000);
}

/** The usage window: ?from=&to= (inclusive) or ?days=N ending today; 30 days by default. */
export function usageRange(ctx: HttpContext): { from: string; to: string } {
  const to = dayParam(ctx, 'to') ?? utcDay();
  const rawDays = ctx.queryValue('days');
  let from = dayParam(ctx, 'from');
  if (from === undefined) {
    const days = rawDays === undefined ? 30 : Number(rawDays);
    if (!Number.isInteger(days) || days < 1 || days > USAGE_RETENTION_DAYS) {
      throw new HttpError(400, `days must be a whole number from 1 to ${USAGE_RETENTION_DAYS}`);
    }
    from = shiftDay(to, -(days - 1));
  }
  if (from > to) throw new HttpError(400, 'from must not be after to');
  if (from < shiftDay(to, -(USAGE_RETENTION_DAYS - 1))) throw new HttpError(400, `At most ${USAGE_RETENTION_DAYS} days per request`);
  return { from, to };
}

async function objectBody(ctx: HttpContext, allowEmpty: boolean): Promise<Record<string, unknown>> {
  if (allowEmpty && (await ctx.body()).length === 0) return {};
  const body = await ctx.json<unknown>();
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'The request body must be a JSON object');
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
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id)) throw new HttpError(404, `No app with id "${id.slice(0, 64)}"`, 'not_found');
    return id;
  };
  const servedApp = (id: string): App => {
    const app = deps.apps.byId(id);
    if (!app) throw new HttpError(404, `No app with id "${id.slice(0, 64)}" is being served`);
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
        if (key !== 'newKey' && key !== 'keepPrevious') throw new HttpError(400, `Unknown option "${key.slice(0, 64)}" (newKey, keepPrevious)`);
        if (typeof body[key] !== 'boolean') throw new HttpError(400, `${key} must be true or false`);
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
