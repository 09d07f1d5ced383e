/** The Pusher HTTP API (spec B): events, batch events, channel state, presence users, terminate. */
import type { App } from '../apps/app.js';
import type { AppRegistry } from '../apps/registry.js';
import type { ChannelsEngine } from '../channels/engine.js';
import { channelNameError, isPresenceChannel, channelType } from '../protocol/names.js';
import { sendJson } from '../platform/http-context.js';
import type { ApiContext, Router } from '../platform/router.js';
import { invalid, rateLimited, unavailable } from '../platform/errors.js';
import { TokenBuckets } from '../platform/token-buckets.js';
import { apiAppOf, verifyApiBody, verifyApiQuery } from './authenticate.js';
import { channelAttributes, validateEvent, type EventBody, type ValidEvent } from './publish.js';

export interface HttpApiDeps {
  engine: ChannelsEngine;
  apps: AppRegistry;
  nowSeconds?: () => number;
  /**
   * Called before events are published, with the number of messages they will produce;
   * throws DomainError (e.g. `quota` over the daily quota) to refuse. Also sees every API call.
   */
  beforePublish?: (app: App, events: ValidEvent[]) => void | Promise<void>;
  onApiCall?: (app: App, route: string) => void;
  /** Per-app request budget (limits.apiRequestsPerSecond), shared with GraphQL. */
  rateLimiter?: TokenBuckets;
}

export function registerHttpApi(router: Router, deps: HttpApiDeps): void {
  const { engine } = deps;
  const now = deps.nowSeconds ?? (() => Date.now() / 1000);
  const rateLimiter = deps.rateLimiter ?? new TokenBuckets();
  const authed = (route: string, handler: (ctx: ApiContext, app: App) => Promise<unknown> | unknown) => {
    // One promise turn per request (the body): everything after it runs in that callback, and
    // handlers answer synchronously when they can (a publish on the in-process broker).
    return (ctx: ApiContext): Promise<void> => {
      // The signature is checked before the body is read: an unsigned request costs no buffering or hashing.
      const app = verifyApiQuery(ctx, apiAppOf(ctx, deps.apps), now());
      return ctx.body().then((body) => {
        verifyApiBody(ctx, body);
        if (!rateLimiter.take(app.id, app.limits.apiRequestsPerSecond)) {
          const limitPerSecond = app.limits.apiRequestsPerSecond;
          throw rateLimited(`Too many requests: this app is limited to ${limitPerSecond} API requests per second`, { limitPerSecond });
        }
        deps.onApiCall?.(app, route);
        const result = handler(ctx, app);
        if (result instanceof Promise) return result.then((value) => sendJson(ctx.res, 200, value));
        sendJson(ctx.res, 200, result);
      });
    };
  };

  /** Publishes one validated event; a value, or a promise when the broker or `info` needs one. */
  const publishEvent = (app: App, event: ValidEvent): unknown => {
    brokerAvailable(engine);
    const sent = engine.publish({ appId: app.id, channels: event.channels, event: event.name, data: event.data, excludeSocketId: event.socketId });
    if (event.info.length === 0) return sent ? sent.then(() => ({})) : {};
    return (async () => {
      await sent;
      const channels: Record<string, Record<string, number>> = {};
      for (const channel of event.channels) channels[channel] = await channelAttributes(engine, app.id, channel, event.info);
      return { channels };
    })();
  };

  router.addLean(
    'POST',
    '/apps/:appId/events',
    authed('events', (ctx, app) => {
      // authed() has read the body already.
      const event = validateEvent(ctx.bodyJson<EventBody>(), app);
      const admitted = deps.beforePublish?.(app, [event]);
      return admitted ? admitted.then(() => publishEvent(app, event)) : publishEvent(app, event);
    }),
  );

  router.addLean(
    'POST',
    '/apps/:appId/batch_events',
    authed('batch_events', async (ctx, app) => {
      const body = await ctx.json<{ batch?: unknown }>();
      if (!body || !Array.isArray(body.batch)) throw invalid('batch must be an array of events');
      if (body.batch.length === 0) throw invalid('batch must not be empty');
      if (body.batch.length > app.limits.maxBatchSize) {
        throw invalid(`Batch too large: ${body.batch.length} events (limit ${app.limits.maxBatchSize})`);
      }
      const events = body.batch.map((item: EventBody, i: number) => {
        if (item && typeof item === 'object' && item.channels !== undefined) {
          throw invalid(`batch[${i}]: each batch event takes a single "channel"`);
        }
        if (item && typeof item === 'object' && item.channel === undefined) {
          throw invalid(`batch[${i}]: channel is required`);
        }
        return validateEvent(item, app, `batch[${i}]: `);
      });
      await deps.beforePublish?.(app, events);
      brokerAvailable(engine);
      await Promise.all(
        events.map((e) => engine.publish({ appId: app.id, channels: e.channels, event: e.name, data: e.data, excludeSocketId: e.socketId })),
      );
      if (!events.some((e) => e.info.length > 0)) return {};
      return { batch: await Promise.all(events.map((e) => channelAttributes(engine, app.id, e.channels[0]!, e.info))) };
    }),
  );

  router.addLean(
    'GET',
    '/apps/:appId/channels',
    authed('channels', async (ctx, app) => {
      const prefix = ctx.queryValue('filter_by_prefix');
      const info = parseInfoList(ctx.queryValue('info'), ['user_count', 'subscription_count']);
      if (info.includes('user_count') && !(prefix ?? '').startsWith('presence-')) {
        throw invalid('info=user_count is only valid with filter_by_prefix=presence-');
      }
      const channels: Record<string, Record<string, number>> = {};
      brokerAvailable(engine);
      for (const summary of await engine.queries.channels(app.id, prefix)) {
        const attrs: Record<string, number> = {};
        if (info.includes('user_count')) attrs.user_count = summary.userCount ?? 0;
        if (info.includes('subscription_count')) attrs.subscription_count = summary.subscriptionCount;
        channels[summary.name] = attrs;
      }
      return { channels };
    }),
  );

  router.addLean(
    'GET',
    '/apps/:appId/channels/:channel',
    authed('channel', async (ctx, app) => {
      const channel = validChannel(ctx.params.channel!, app);
      const info = parseInfoList(ctx.queryValue('info'), ['user_count', 'subscription_count', 'cache']);
      const presence = isPresenceChannel(channel);
      if (info.includes('user_count') && !presence) throw invalid('info=user_count is only available for presence channels');
      if (info.includes('cache') && !channelType(channel).cache) throw invalid('info=cache is only available for cache channels');
      brokerAvailable(engine);
      const subscriptions = await engine.queries.subscriptionCount(app.id, channel);
      const result: Record<string, unknown> = { occupied: subscriptions > 0 };
      if (info.includes('user_count')) result.user_count = await engine.queries.userCount(app.id, channel);
      if (info.includes('subscription_count')) result.subscription_count = subscriptions;
      if (info.includes('cache')) {
        const cached = await engine.queries.cachedEvent(app.id, channel);
        result.cache = cached ? { event: cached.event, data: cached.data, ttl: cached.ttl } : null;
      }
      return result;
    }),
  );

  router.addLean(
    'GET',
    '/apps/:appId/channels/:channel/users',
    authed('channel_users', async (ctx, app) => {
      const channel = validChannel(ctx.params.channel!, app);
      if (!isPresenceChannel(channel)) throw invalid('Users can only be listed for presence channels');
      const withInfo = ['1', 'true'].includes(ctx.queryValue('with_user_info') ?? '');
      brokerAvailable(engine);
      return {
        users: (await engine.queries.members(app.id, channel)).map((m) => (withInfo ? { id: m.id, user_info: m.userInfo } : { id: m.id })),
      };
    }),
  );

  router.addLean(
    'POST',
    '/apps/:appId/users/:userId/terminate_connections',
    authed('terminate_connections', (ctx, app) => {
      const userId = ctx.params.userId!;
      if (userId.length === 0 || userId.length > app.limits.maxUserIdLength) throw invalid('Invalid user id');
      // The termination travels over the broker's control bus, even to this node's own sockets;
      // while the broker is down Redis drops it and NATS holds it for later: refuse (503, as
      // for publishes) rather than answer {} for a termination that may never happen.
      brokerAvailable(engine);
      engine.terminateUser(app.id, userId);
      return {};
    }),
  );
}

/**
 * Clustered: while the broker is unreachable, a publish the other nodes cannot get is refused
 * (rather than acknowledged) and cluster-wide queries fail fast instead of waiting for it.
 */
function brokerAvailable(engine: ChannelsEngine): void {
  if (!engine.broker.healthy()) throw unavailable(`Broker ${engine.broker.name} unavailable (cluster messages and state), retry shortly`);
}

function validChannel(name: string, app: App): string {
  const error = channelNameError(name, app.limits.maxChannelNameLength);
  if (error) throw invalid(error);
  return name;
}

function parseInfoList(raw: string | undefined, allowed: string[]): string[] {
  if (!raw) return [];
  const attrs = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const a of attrs) if (!allowed.includes(a)) throw invalid(`Unknown info attribute ${a.slice(0, 50)}`);
  return attrs;
}
