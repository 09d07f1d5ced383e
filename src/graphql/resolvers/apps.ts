/**
 * app, apps, cluster, appStats and appUsage. Stats and usage come from the apps capability's
 * UsageTracker (the 'apps' service, the same numbers as /admin/apps/{id}/stats and /usage); without
 * it they answer NOT_AVAILABLE.
 */
import type { App } from '../../apps/app.js';
import type { AppsService } from '../../app-store/module.js';
import type { DailyUsage } from '../../apps/usage-store.js';
import { usageWindow } from '../../apps/usage-window.js';
import { appFor, requireAdmin, type GraphQLContext } from '../context/auth.js';
import { notAvailable, toGraphQLError } from '../errors.js';
import type { ResolverMap } from '../schema.js';

const COUNTERS = ['messages', 'messagesSent', 'clientEvents', 'messagesDelivered', 'apiCalls', 'webhooksSent', 'connections', 'peakConnections'] as const;
type Counters = Record<(typeof COUNTERS)[number], number>;

export interface UsageEntry extends Counters {
  appId: string;
  date: string | null;
  from: string;
  to: string;
  days: UsageEntry[] | null;
}

function appsService(ctx: GraphQLContext): AppsService {
  const service = ctx.deps.services.apps();
  if (!service) throw notAvailable('Stats and usage need the app store (apps module), which is not running on this server');
  return service;
}

function dailyEntry(appId: string, day: DailyUsage): UsageEntry {
  const counters = Object.fromEntries(COUNTERS.map((k) => [k, day[k]])) as Counters;
  return { appId, date: day.date, from: day.date, to: day.date, days: null, ...counters };
}

export function statsFor(ctx: GraphQLContext, app: App) {
  const s = appsService(ctx).usage.stats(app);
  return {
    appId: app.id,
    connections: s.connections.current,
    localConnections: s.connections.local,
    peakConnectionsToday: s.connections.peakToday,
    occupiedChannels: s.occupiedChannels,
    today: dailyEntry(app.id, s.today),
    dailyMessageQuota: s.quotas.dailyMessages.limit,
    dailyMessagesRemaining: s.quotas.dailyMessages.remaining,
    connectionQuota: s.quotas.maxConnections.limit,
    connectionsRemaining: s.quotas.maxConnections.remaining,
    flushedAt: s.flushedAt,
  };
}

export function clusterInfo(ctx: GraphQLContext) {
  const { config, broker, engine, services, version } = ctx.deps;
  // The console's cluster view (src/console/cluster.ts), when the console module runs.
  const view = services.cluster();
  const nodes = (view?.nodeList() ?? [{ id: engine.node.nodeId, self: true, connections: engine.connectionCount(), reportedAt: Date.now() }]).map((n) => ({
    ...n,
    reportedAt: new Date(n.reportedAt).toISOString(),
  }));
  return {
    name: config.clusterPrefix,
    version,
    broker: broker.name,
    brokerHealthy: broker.healthy(),
    host: config.host,
    port: ctx.deps.port(),
    useTLS: Boolean(config.tlsCert && config.tlsKey),
    wsPath: config.wsPath,
    activityTimeout: config.activityTimeout,
    localConnections: engine.connectionCount(),
    connections: nodes.reduce((sum, n) => sum + n.connections, 0),
    nodes,
    beamsAvailable: services.beams() !== undefined,
  };
}

/** The usage window rule of GET /admin/apps/{id}/usage (from/to or days; 30 days by default). */
function range(args: { from?: string | null; to?: string | null; days?: number | null }): { from: string; to: string } {
  const days = args.days === undefined || args.days === null ? undefined : String(args.days);
  try {
    return usageWindow({ from: args.from ?? undefined, to: args.to ?? undefined, days });
  } catch (err) {
    throw toGraphQLError(err);
  }
}

export const appResolvers: ResolverMap = {
  Query: {
    app: (_root, args: { appId?: string }, ctx) => appFor(ctx, args.appId),
    apps: (_root, _args, ctx) => {
      requireAdmin(ctx);
      return ctx.deps.apps.list().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },
    cluster: (_root, _args, ctx) => clusterInfo(ctx),
    appStats: (_root, args: { appId?: string }, ctx) => statsFor(ctx, appFor(ctx, args.appId)),
    appUsage: async (_root, args: { appId?: string; from?: string | null; to?: string | null; days?: number | null }, ctx) => {
      const app = appFor(ctx, args.appId);
      const usage = appsService(ctx).usage;
      const { from, to } = range(args);
      const days = (await usage.history(app.id, from, to)).map((d) => dailyEntry(app.id, d));
      const totals = Object.fromEntries(COUNTERS.map((k) => [k, 0])) as Counters;
      for (const day of days) {
        for (const key of COUNTERS) totals[key] = key === 'peakConnections' ? Math.max(totals[key], day[key]) : totals[key] + day[key];
      }
      return { appId: app.id, date: null, from, to, days, ...totals } satisfies UsageEntry;
    },
  },

  App: {
    name: (app: App) => app.name ?? null,
    key: (app: App) => ({ key: app.key, primary: true }),
    keys: (app: App) => app.credentials.map((c) => ({ key: c.key, primary: c.key === app.key })),
    secret: (app: App, _args, ctx) => ({ hint: app.secret.slice(-4), value: ctx.principal.kind === 'admin' ? app.secret : null }),
    clientEventsEnabled: (app: App) => app.clientEvents,
    subscriptionCountEvents: (app: App) => app.subscriptionCountEvents,
    userAuthenticationRequired: (app: App) => app.userAuthentication.required,
    webhookUrls: (app: App) => app.webhooks.map((w) => w.url),
    limits: (app: App) => app.limits,
    quotas: (app: App) => app.quotas,
    cluster: (_app: App, _args, ctx) => clusterInfo(ctx),
    stats: (app: App, _args, ctx) => statsFor(ctx, app),
  },
};
