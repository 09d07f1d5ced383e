/**
 * Who is calling, per request (HTTP) or per socket (graphql-ws `connectionParams`):
 *   Authorization: Basic base64(appKey:appSecret)        → that app
 *   Authorization: Basic base64(instanceId:secretKey)    → that Beams instance
 *   Authorization: Bearer <HERALD_ADMIN_TOKEN>           → admin (every app and instance)
 * Secrets and tokens are compared in constant time. Resolvers then ask `appFor` / `instanceFor`
 * for the app or instance an operation concerns, which enforces "an app sees only its own data".
 */
import type { App } from '../../apps/app.js';
import type { AppRegistry } from '../../apps/registry.js';
import type { BeamsInstance } from '../../beams/instances.js';
import type { AppsService } from '../../app-store/module.js';
import type { BeamsService } from '../../beams/service.js';
import type { ClusterView } from '../../console/cluster.js';
import { isValidInstanceId } from '../../beams/validation.js';
import type { ChannelsEngine } from '../../channels/engine.js';
import type { HeraldConfig } from '../../config/schema.js';
import { safeEqual } from '../../protocol/signatures.js';
import type { Broker } from '../../scaling/broker.js';
import type { Logger } from '../../platform/logger.js';
import type { HeraldHooks } from '../../core/module.js';
import { badInput, ErrorCode, forbidden, gqlError, notAvailable, notFound, toGraphQLError } from '../errors.js';
import type { EngineStreams } from '../subscriptions.js';

export type Principal =
  | { kind: 'admin' }
  | { kind: 'app'; appId: string }
  | { kind: 'beams'; instanceId: string }
  /** No credentials: only introspection-only documents run with it. */
  | { kind: 'anonymous' };

/** What resolvers reach: the same services the HTTP APIs use. */
export interface GraphQLDeps {
  config: HeraldConfig;
  apps: AppRegistry;
  engine: ChannelsEngine;
  broker: Broker;
  hooks: HeraldHooks;
  /** The other capabilities' services, when their modules run (read per operation). */
  services: { apps(): AppsService | undefined; beams(): BeamsService | undefined; cluster(): ClusterView | undefined };
  logger: Logger;
  streams: EngineStreams;
  version: string;
  /** The port the server listens on (known once it listens). */
  port: () => number;
}

export interface GraphQLContext {
  deps: GraphQLDeps;
  principal: Principal;
}

const MAX_HEADER_LENGTH = 4096;

export const unauthenticated = (message: string) => gqlError(ErrorCode.Unauthenticated, message);

export const CREDENTIALS_HELP =
  'send Authorization: Basic base64(appKey:appSecret), Basic base64(beamsInstanceId:secretKey) or Bearer <admin token>';

/** Resolves an Authorization header value to a principal; throws UNAUTHENTICATED / FORBIDDEN. */
export async function authenticate(header: unknown, deps: GraphQLDeps): Promise<Principal> {
  if (typeof header !== 'string' || header.trim() === '') throw unauthenticated(`Authentication required: ${CREDENTIALS_HELP}`);
  if (header.length > MAX_HEADER_LENGTH) throw unauthenticated('Authorization header too long');
  const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (bearer) {
    const token = deps.config.adminToken;
    if (!token) throw unauthenticated('Admin access is disabled: set HERALD_ADMIN_TOKEN to enable it');
    if (!safeEqual(bearer[1]!, token)) throw unauthenticated('Wrong admin token');
    return { kind: 'admin' };
  }
  const basic = /^Basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header);
  if (!basic) throw unauthenticated(`Unsupported Authorization header: ${CREDENTIALS_HELP}`);
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw unauthenticated('Basic credentials must be id:secret');
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);

  const app = deps.apps.byKey(user);
  if (app) {
    let ok = false;
    // Every credential pair is compared, so timing does not reveal which one matched.
    for (const cred of app.credentials) {
      const keyOk = safeEqual(user, cred.key);
      const secretOk = safeEqual(password, cred.secret);
      if (keyOk && secretOk) ok = true;
    }
    if (!ok) throw unauthenticated('Wrong app key or secret');
    if (!app.enabled) throw forbidden('Application disabled');
    return { kind: 'app', appId: app.id };
  }
  const instance = await beamsInstance(user, deps);
  if (instance && safeEqual(password, instance.secretKey)) return { kind: 'beams', instanceId: instance.id };
  throw unauthenticated('Unknown app key or Beams instance, or wrong secret');
}

async function beamsInstance(id: string, deps: GraphQLDeps): Promise<BeamsInstance | undefined> {
  const service = deps.services.beams();
  if (!service || !isValidInstanceId(id)) return undefined;
  try {
    return await service.instances.get(id);
  } catch (err) {
    deps.logger.warn({ err: (err as Error).message }, 'GraphQL: Beams instance lookup failed during authentication');
    return undefined;
  }
}

/** The app an operation concerns: the caller's own, or `appId` for admins. */
export function appFor(ctx: GraphQLContext, appId: string | null | undefined): App {
  const { principal, deps } = ctx;
  if (principal.kind === 'admin') {
    if (!appId) throw badInput('appId is required when calling with the admin token', 'appId');
    const app = deps.apps.byId(appId);
    if (!app) throw notFound(`No app with id "${appId.slice(0, 64)}"`);
    return app;
  }
  if (principal.kind === 'anonymous') throw unauthenticated(`Authentication required: ${CREDENTIALS_HELP}`);
  if (principal.kind === 'beams') throw forbidden('Beams instance credentials cannot access Channels apps: use the app key and secret');
  if (appId && appId !== principal.appId) throw forbidden('An app can only access its own data');
  const app = deps.apps.byId(principal.appId);
  // Deleted or disabled since the request (or socket) was authenticated.
  if (!app) throw unauthenticated('This app no longer exists');
  if (!app.enabled) throw forbidden('Application disabled');
  return app;
}

export function requireAdmin(ctx: GraphQLContext): void {
  if (ctx.principal.kind === 'anonymous') throw unauthenticated(`Authentication required: ${CREDENTIALS_HELP}`);
  if (ctx.principal.kind !== 'admin') throw forbidden('Only the admin token may do this');
}

/** The Beams service, or NOT_AVAILABLE when this server runs without Beams. */
export function beamsService(ctx: GraphQLContext): BeamsService {
  const service = ctx.deps.services.beams();
  if (!service) throw notAvailable('Beams is not available on this server');
  return service;
}

/** The Beams instance an operation concerns: the caller's own, or `instanceId` for admins. */
export async function instanceFor(ctx: GraphQLContext, instanceId: string | null | undefined): Promise<{ service: BeamsService; instance: BeamsInstance }> {
  const { principal } = ctx;
  let id: string;
  if (principal.kind === 'admin') {
    if (!instanceId) throw badInput('instanceId is required when calling with the admin token', 'instanceId');
    id = instanceId;
  } else if (principal.kind === 'beams') {
    if (instanceId && instanceId !== principal.instanceId) throw forbidden('A Beams instance can only access its own data');
    id = principal.instanceId;
  } else if (principal.kind === 'anonymous') {
    throw unauthenticated(`Authentication required: ${CREDENTIALS_HELP}`);
  } else {
    throw forbidden('Beams operations need the Beams instance credentials (Basic base64(instanceId:secretKey)) or the admin token');
  }
  const service = beamsService(ctx);
  try {
    return { service, instance: await service.instance(id) };
  } catch (err) {
    throw toGraphQLError(err);
  }
}
