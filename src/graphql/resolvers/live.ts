/**
 * Subscriptions: channelEvents, presenceMemberEvents, connectionStateChanged and webhookEvents, fed
 * by EngineStreams (src/graphql/subscriptions.ts) from the engine's observer events.
 */
import type { WebhookEvent } from '../../webhooks/events.js';
import { appFor } from '../context/auth.js';
import { badInput } from '../errors.js';
import type { ResolverMap, SubscriptionResolver } from '../schema.js';
import { StreamFailure } from '../streams.js';
import { validChannelName } from './channels.js';

/** Event names one channelEvents subscription may filter on. */
const MAX_EVENT_FILTERS = 100;

/** Passes events through; a StreamFailure (slow subscriber) becomes the final GraphQL error. */
function live(subscribe: SubscriptionResolver['subscribe']): SubscriptionResolver {
  return {
    subscribe,
    resolve: (payload: unknown) => {
      if (payload instanceof StreamFailure) throw payload.toError();
      return payload;
    },
  };
}

const WEBHOOK_TYPE: Record<WebhookEvent['name'], string> = {
  client_event: 'EventWebhook',
  member_added: 'MemberWebhook',
  member_removed: 'MemberWebhook',
  channel_occupied: 'ChannelWebhook',
  channel_vacated: 'ChannelWebhook',
  cache_miss: 'ChannelWebhook',
  subscription_count: 'ChannelWebhook',
};

export const liveResolvers: ResolverMap = {
  Subscription: {
    channelEvents: live((_root, args: { appId?: string; channel: string; events?: string[] | null }, ctx) => {
      const app = appFor(ctx, args.appId);
      const channel = validChannelName(app, args.channel, 'channel');
      const events = args.events ?? undefined;
      if (events) {
        if (events.length === 0 || events.length > MAX_EVENT_FILTERS) throw badInput(`events must list 1 to ${MAX_EVENT_FILTERS} event names`, 'events');
        for (const name of events) {
          if (name.length === 0 || name.length > app.limits.maxEventNameLength) throw badInput(`Event names are 1 to ${app.limits.maxEventNameLength} characters`, 'events');
        }
      }
      return ctx.deps.streams.channelEvents(app.id, channel, events);
    }),

    presenceMemberEvents: live((_root, args: { appId?: string; channel: string }, ctx) => {
      const app = appFor(ctx, args.appId);
      const channel = validChannelName(app, args.channel, 'channel');
      if (!channel.startsWith('presence-')) throw badInput('Member events exist only on presence channels (presence-…)', 'channel');
      return ctx.deps.streams.presenceEvents(app.id, channel);
    }),

    connectionStateChanged: live((_root, args: { appId?: string }, ctx) => {
      const app = appFor(ctx, args.appId);
      return ctx.deps.streams.connectionEvents(app.id);
    }),

    webhookEvents: live((_root, args: { appId?: string; types?: string[] | null; channelPrefix?: string | null }, ctx) => {
      const app = appFor(ctx, args.appId);
      const prefix = args.channelPrefix ?? undefined;
      if (prefix !== undefined && prefix.length > app.limits.maxChannelNameLength) throw badInput('channelPrefix is longer than any channel name can be', 'channelPrefix');
      if (args.types && args.types.length === 0) throw badInput('types must not be empty (omit it for every type)', 'types');
      return ctx.deps.streams.webhookEvents(app.id, args.types ?? undefined, prefix);
    }),
  },

  WebhookPayloadEvent: {
    __resolveType: (event) => WEBHOOK_TYPE[(event as WebhookEvent).name],
  },
  EventWebhook: {
    name: (e: WebhookEvent) => e.name.toUpperCase(),
    socketId: (e: Extract<WebhookEvent, { name: 'client_event' }>) => e.socket_id,
    userId: (e: Extract<WebhookEvent, { name: 'client_event' }>) => e.user_id ?? null,
  },
  MemberWebhook: {
    name: (e: WebhookEvent) => e.name.toUpperCase(),
    userId: (e: Extract<WebhookEvent, { name: 'member_added' | 'member_removed' }>) => e.user_id,
  },
  ChannelWebhook: {
    name: (e: WebhookEvent) => e.name.toUpperCase(),
    subscriptionCount: (e: WebhookEvent) => (e.name === 'subscription_count' ? e.subscription_count : null),
  },
};
