/** Resolves the app of an /apps/{app_id}/… request and checks its Pusher signature (spec B.1), then its body. */
import type { App } from '../apps/app.js';
import type { AppRegistry } from '../apps/registry.js';
import { bodyMd5Problem, verifySignedQuery } from '../protocol/http-signing.js';
import { CloseCode } from '../protocol/errors.js';
import type { ApiContext } from '../platform/router.js';
import { forbidden, notFound, unauthorized } from '../platform/errors.js';

export async function authenticateApiRequest(ctx: ApiContext, apps: AppRegistry, nowSeconds: number): Promise<App> {
  const app = verifyApiQuery(ctx, apiAppOf(ctx, apps), nowSeconds);
  verifyApiBody(ctx, await ctx.body());
  return app;
}

/** The app named by the path; 404 before the body is read. */
export function apiAppOf(ctx: ApiContext, apps: AppRegistry): App {
  const app = apps.byId(ctx.params.appId ?? '');
  if (!app) throw notFound(`Unknown app id ${ctx.params.appId}`, { pusherCode: CloseCode.AppNotFound });
  return app;
}

/**
 * Checks the request's signature against `app` (401) and that the app is enabled (403); synchronous
 * and before the body is read (the signature covers body_md5): verifyApiBody checks the body later.
 */
export function verifyApiQuery(ctx: ApiContext, app: App, nowSeconds: number): App {
  const request = { method: ctx.method, path: ctx.path, query: ctx.query };
  let check = verifySignedQuery(request, app.credentials, nowSeconds);
  if (!check.ok && ctx.path.includes('%')) {
    // Some clients sign the percent-decoded path (e.g. channel names with escaped characters).
    let decoded: string | undefined;
    try {
      decoded = decodeURIComponent(ctx.path);
    } catch {
      decoded = undefined;
    }
    if (decoded) {
      const retry = verifySignedQuery({ ...request, path: decoded }, app.credentials, nowSeconds);
      if (retry.ok) check = retry;
    }
  }
  if (!check.ok) throw unauthorized(check.message);
  if (!app.enabled) throw forbidden('Application disabled', { pusherCode: CloseCode.AppDisabled });
  return app;
}

/** The body of a request verifyApiQuery admitted against its signed body_md5 (401). */
export function verifyApiBody(ctx: ApiContext, body: Buffer): void {
  const problem = bodyMd5Problem({ query: ctx.query, body });
  if (problem !== undefined) throw unauthorized(problem);
}
