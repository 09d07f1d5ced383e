/**
 * The console's app management: list, create, edit, enable/disable, delete, rotate secrets,
 * drop previous credentials, daily usage. Every change goes through the same AppManager as the
 * admin API (same validation, same errors via storeCall). Unlike the admin API, answers never
 * carry a secret, except the one response that issues it (create, rotate): the page shows it
 * once and it cannot be read back here.
 */
import { z } from 'zod';
import { appSchema, type App } from '../apps/app.js';
import { storeCall, usageRange } from '../apps/admin-api.js';
import type { AppView } from '../apps/manager.js';
import { APPS_SERVICE } from '../app-store/module.js';
import { sendJson } from '../platform/http-context.js';
import type { ModuleContext } from '../core/module.js';
import type { HttpContext } from '../platform/router.js';
import { invalid, notFound } from '../platform/errors.js';
import { objectBody, type ConsoleGuard } from './guard.js';
import type { ConsoleSource } from './sources.js';

/** Fields the console edits elsewhere (credentials, webhooks) or never (id). */
const NOT_EDITABLE_HERE: Record<string, string> = {
  id: 'the id cannot change',
  key: 'issue a new key with "Rotate secret" (new key)',
  secret: 'use "Rotate secret"',
  extraCredentials: 'previous credentials are dropped one by one on the Credentials panel',
  webhooks: 'endpoints are managed on the Webhooks page',
};

/** An app as the console shows it: no secrets, webhook header values hidden (they often hold tokens). */
export function publicApp(view: AppView | App): Record<string, unknown> {
  const { secret: _secret, extraCredentials, webhooks, ...rest } = view as AppView & { credentials?: unknown };
  delete (rest as { credentials?: unknown }).credentials;
  return {
    ...rest,
    extraKeys: extraCredentials.map((c) => c.key),
    webhooks: webhooks.map((w) => ({ url: w.url, events: w.events ?? null, channelPrefix: w.channelPrefix ?? null, headerNames: Object.keys(w.headers ?? {}) })),
  };
}

export function registerAppRoutes(ctx: ModuleContext, guard: ConsoleGuard, source: ConsoleSource): void {
  const { router, apps } = ctx;
  const appsService = ctx.later(APPS_SERVICE);
  const service = () => {
    const found = appsService();
    if (!found) throw notFound('App management is not enabled on this server (apps module)');
    return found;
  };
  const manager = () => service().manager();
  const appId = (http: HttpContext) => {
    const id = http.params.appId!;
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id)) throw notFound(`No app with id "${id.slice(0, 64)}"`, { code: 'not_found' });
    return id;
  };
  const live = (id: string) => ({ connections: source.connectionCount(id), served: apps.byId(id) !== undefined });

  // The settings form is drawn from the app schema itself, so every setting it has is editable.
  let schema: unknown;
  router.add('GET', '/console/api/app-schema', (http) => {
    guard.admin(http);
    schema ??= z.toJSONSchema(appSchema, { io: 'input' });
    sendJson(http.res, 200, { schema });
  });

  router.add('GET', '/console/api/apps', async (http) => {
    guard.admin(http);
    let listed: Array<Record<string, unknown>>;
    let storeError: string | undefined;
    const served = () => apps.list().map((a) => ({ ...publicApp(a), source: 'config' }));
    try {
      // Looking is no reason to create a store: without one, every app is a configured one.
      listed = service().hasStore()
        ? (await storeCall(async () => (await manager()).list())).map((a) => ({ ...a, extraKeys: a.extraCredentials.map((c) => c.key) }))
        : served();
    } catch (err) {
      // The page still works on the served apps when the store cannot be opened (it says why).
      storeError = (err as Error).message;
      listed = served();
    }
    const out = listed.map((a) => {
      const { extraCredentials: _extra, webhooks, ...rest } = a as Record<string, unknown> & { webhooks?: unknown[] };
      return { ...rest, name: (rest.name as string | undefined) ?? rest.id, webhookCount: webhooks?.length ?? 0, ...live(String(rest.id)) };
    });
    sendJson(http.res, 200, { apps: out, scope: source.scope.connections, storeError });
  });

  router.add('POST', '/console/api/apps', async (http) => {
    guard.write(http);
    const body = await objectBody(http);
    const created = await storeCall(async () => (await manager()).create(body));
    // The only answer carrying this secret: the page shows it once, with its snippets.
    sendJson(http.res, 201, { app: publicApp(created), credentials: { appId: created.id, key: created.key, secret: created.secret } });
  });

  router.add('GET', '/console/api/apps/:appId', async (http) => {
    guard.admin(http);
    const id = appId(http);
    const configured = service().hasStore() ? undefined : apps.byId(id);
    if (configured) {
      sendJson(http.res, 200, { app: { ...publicApp(configured), source: 'config', ...live(id) } });
      return;
    }
    const view = await storeCall(async () => (await manager()).get(id));
    sendJson(http.res, 200, { app: { ...publicApp(view), ...live(view.id) } });
  });

  router.add('PATCH', '/console/api/apps/:appId', async (http) => {
    guard.write(http);
    const id = appId(http);
    const body = await objectBody(http);
    for (const [field, why] of Object.entries(NOT_EDITABLE_HERE)) {
      if (field in body) throw invalid(`${field} cannot be changed here: ${why}`, { code: 'invalid' });
    }
    const updated = await storeCall(async () => (await manager()).update(id, body));
    sendJson(http.res, 200, { app: { ...publicApp(updated), ...live(id) } });
  });

  router.add('DELETE', '/console/api/apps/:appId', async (http) => {
    guard.write(http);
    const id = appId(http);
    await storeCall(async () => (await manager()).delete(id));
    sendJson(http.res, 200, { deleted: id });
  });

  router.add('POST', '/console/api/apps/:appId/rotate-secret', async (http) => {
    guard.write(http);
    const id = appId(http);
    const body = await objectBody(http, true);
    for (const key of Object.keys(body)) {
      if (key !== 'newKey' && key !== 'keepPrevious') throw invalid(`Unknown option "${key.slice(0, 64)}" (newKey, keepPrevious)`);
      if (typeof body[key] !== 'boolean') throw invalid(`${key} must be true or false`);
    }
    const rotated = await storeCall(async () => (await manager()).rotateSecret(id, body));
    sendJson(http.res, 200, { app: publicApp(rotated), credentials: { appId: rotated.id, key: rotated.key, secret: rotated.secret } });
  });

  // Previous key/secret pairs are named by their key: the page never holds their secrets.
  router.add('POST', '/console/api/apps/:appId/drop-credential', async (http) => {
    guard.write(http);
    const id = appId(http);
    const { key } = await objectBody(http);
    if (typeof key !== 'string') throw invalid('Send {"key": "<previous key>"}');
    const updated = await storeCall(async () => {
      const m = await manager();
      const current = await m.get(id);
      const kept = current.extraCredentials.filter((c) => c.key !== key);
      if (kept.length === current.extraCredentials.length) throw notFound(`App ${id} has no previous credential with key ${key.slice(0, 128)}`);
      return m.update(id, { extraCredentials: kept });
    });
    sendJson(http.res, 200, { app: publicApp(updated) });
  });

  router.add('GET', '/console/api/apps/:appId/usage', async (http) => {
    guard.admin(http);
    const id = appId(http);
    if (!apps.byId(id)) throw notFound(`No app with id "${id}" is being served`);
    const { from, to } = usageRange(http);
    const usage = service().usage;
    const app = apps.byId(id)!;
    sendJson(http.res, 200, { appId: id, from, to, days: await usage.history(id, from, to), stats: usage.stats(app) });
  });
}
