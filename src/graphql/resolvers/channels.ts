/**
 * Channel queries (channels, channel, presenceChannelInfo) and the channel types. Counts come from
 * `engine.queries`, the same cluster-wide source as GET /apps/{id}/channels[/{name}[/users]], and
 * are only computed for the fields a query selects.
 */
import { jsonTextTooDeep } from '../../protocol/json-depth.js';
import type { App } from '../../apps/app.js';
import type { ChannelSummary } from '../../channels/queries.js';
import { channelNameError, channelType, isPresenceChannel, requiresAuth, type ChannelKind } from '../../protocol/names.js';
import { appFor, type GraphQLContext } from '../context/auth.js';
import { badInput } from '../errors.js';
import { pageSize } from '../limits.js';
import type { ResolverMap } from '../schema.js';

export type ChannelTypeName = 'PUBLIC' | 'PRIVATE' | 'PRESENCE' | 'ENCRYPTED';

/** `#server-to-user-` channels are private to their user; they never appear in listings. */
const TYPE_BY_KIND: Record<ChannelKind, ChannelTypeName> = { public: 'PUBLIC', private: 'PRIVATE', presence: 'PRESENCE', encrypted: 'ENCRYPTED', user: 'PRIVATE' };

export function channelTypeName(name: string): ChannelTypeName {
  return TYPE_BY_KIND[channelType(name).kind];
}

/** Parent of AppChannel / ChannelModel fields: the app, the name, and counts when already known. */
export interface ChannelRef {
  app: App;
  name: string;
  summary?: ChannelSummary;
}

export interface PresenceRef {
  app: App;
  channel: string;
}

export interface EventRef {
  channel: string;
  name: string;
  data: string;
  source: string;
  at: Date;
}

export function validChannelName(app: App, name: string, field = 'name'): string {
  const error = channelNameError(name, app.limits.maxChannelNameLength);
  if (error) throw badInput(error, field);
  return name;
}

async function counts(ctx: GraphQLContext, ref: ChannelRef): Promise<{ occupied: boolean; subscriptionCount: number; userCount: number | null }> {
  const queries = ctx.deps.engine.queries;
  const presence = isPresenceChannel(ref.name);
  const subscriptionCount = ref.summary?.subscriptionCount ?? (await queries.subscriptionCount(ref.app.id, ref.name));
  const userCount = presence ? (ref.summary?.userCount ?? (await queries.userCount(ref.app.id, ref.name))) : null;
  return { occupied: subscriptionCount > 0, subscriptionCount, userCount };
}

function clientEventsAllowed(app: App, name: string): boolean {
  const kind = channelType(name).kind;
  return app.clientEvents && (kind === 'private' || kind === 'presence');
}

/**
 * Event data parsed, or null. Data nested deeper than MAX_JSON_DEPTH is null too: anyone who may
 * publish (a client event on a private channel included) could otherwise send a data string whose
 * answer overflows the stack when serialized, ending every subscription on the channel.
 */
function tryParseJson(raw: string): unknown {
  if (jsonTextTooDeep(raw)) return null;
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}

const SIGNED_STRING: Record<string, string> = {
  PRIVATE: '{socket_id}:{channel_name}',
  ENCRYPTED: '{socket_id}:{channel_name}',
  PRESENCE: '{socket_id}:{channel_name}:{channel_data}',
};

const MODEL_TYPE: Record<ChannelTypeName, string> = { PUBLIC: 'PublicChannel', PRIVATE: 'PrivateChannel', PRESENCE: 'PresenceChannel', ENCRYPTED: 'EncryptedChannel' };

const modelFields = {
  name: (ref: ChannelRef) => ref.name,
  type: (ref: ChannelRef) => channelTypeName(ref.name),
  cache: (ref: ChannelRef) => channelType(ref.name).cache,
  requiresAuthorization: (ref: ChannelRef) => requiresAuth(ref.name),
  clientEventsAllowed: (ref: ChannelRef) => clientEventsAllowed(ref.app, ref.name),
};
const signedModelFields = { ...modelFields, signedStringFormat: (ref: ChannelRef) => SIGNED_STRING[channelTypeName(ref.name)] };

export const channelResolvers: ResolverMap = {
  Query: {
    channels: async (_root, args: { appId?: string; filter?: { prefix?: string | null; type?: ChannelTypeName | null } | null; first?: number; after?: string | null }, ctx) => {
      const app = appFor(ctx, args.appId);
      const first = pageSize(args.first);
      const prefix = args.filter?.prefix ?? undefined;
      if (prefix !== undefined && prefix.length > app.limits.maxChannelNameLength) throw badInput('filter.prefix is longer than any channel name can be', 'filter.prefix');
      const after = args.after ?? '';
      if (after.length > app.limits.maxChannelNameLength) throw badInput('after is not a cursor from this API', 'after');
      const type = args.filter?.type ?? undefined;
      const matching = (await ctx.deps.engine.queries.channels(app.id, prefix || undefined))
        .filter((c) => !type || channelTypeName(c.name) === type)
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const rest = after ? matching.filter((c) => c.name > after) : matching;
      const page = rest.slice(0, first);
      return {
        channels: page.map((summary): ChannelRef => ({ app, name: summary.name, summary })),
        totalCount: matching.length,
        endCursor: page.length > 0 ? page[page.length - 1]!.name : null,
        hasNextPage: rest.length > page.length,
      };
    },
    channel: (_root, args: { appId?: string; name: string }, ctx): ChannelRef => {
      const app = appFor(ctx, args.appId);
      return { app, name: validChannelName(app, args.name) };
    },
    presenceChannelInfo: (_root, args: { appId?: string; channel: string }, ctx): PresenceRef => {
      const app = appFor(ctx, args.appId);
      const channel = validChannelName(app, args.channel, 'channel');
      if (!isPresenceChannel(channel)) throw badInput('Members can only be listed for presence channels (presence-…)', 'channel');
      return { app, channel };
    },
  },

  AppChannel: {
    type: (ref: ChannelRef) => channelTypeName(ref.name),
    cache: (ref: ChannelRef) => channelType(ref.name).cache,
    info: async (ref: ChannelRef, _args, ctx) => {
      const c = await counts(ctx, ref);
      let cachedEvent: EventRef | null = null;
      if (channelType(ref.name).cache) {
        const cached = await ctx.deps.engine.queries.cachedEvent(ref.app.id, ref.name);
        // `at` is when the event was published; entries written by an older version lack it (query time then).
        if (cached) cachedEvent = { channel: ref.name, name: cached.event, data: cached.data, source: 'cache', at: new Date(cached.publishedAt ?? Date.now()) };
      }
      return { ...c, cachedEvent };
    },
    occupancy: (ref: ChannelRef, _args, ctx) => counts(ctx, ref),
    model: (ref: ChannelRef) => ref,
    presence: (ref: ChannelRef): PresenceRef | null => (isPresenceChannel(ref.name) ? { app: ref.app, channel: ref.name } : null),
    subscriptions: (ref: ChannelRef, args: { first?: number }, ctx) => {
      const first = pageSize(args.first);
      const channel = ctx.deps.engine.state(ref.app.id)?.channels.get(ref.name);
      if (!channel) return [];
      const out: Array<{ socketId: string; channel: string; userId: string | null }> = [];
      for (const conn of channel.subscribers) {
        if (out.length >= first) break;
        out.push({ socketId: conn.socketId, channel: ref.name, userId: conn.subscriptions.get(ref.name)?.userId ?? conn.user?.id ?? null });
      }
      return out;
    },
  },

  ChannelModel: {
    __resolveType: (ref) => MODEL_TYPE[channelTypeName((ref as ChannelRef).name)],
  },
  PublicChannel: modelFields,
  PrivateChannel: signedModelFields,
  EncryptedChannel: signedModelFields,
  PresenceChannel: {
    ...signedModelFields,
    maxMembers: (ref: ChannelRef) => ref.app.limits.maxPresenceMembers,
    maxUserInfoBytes: (ref: ChannelRef) => ref.app.limits.maxPresenceUserInfoBytes,
    info: (ref: ChannelRef): PresenceRef => ({ app: ref.app, channel: ref.name }),
  },

  PresenceChannelInfo: {
    channel: (ref: PresenceRef) => ref.channel,
    userCount: (ref: PresenceRef, _args, ctx) => ctx.deps.engine.queries.userCount(ref.app.id, ref.channel),
    members: async (ref: PresenceRef, _args, ctx) =>
      (await ctx.deps.engine.queries.members(ref.app.id, ref.channel)).map((m) => ({ id: m.id, info: m.userInfo ?? null })),
  },

  Event: {
    // EventData's parent is the data string itself.
    data: (event: EventRef) => event.data,
  },
  EventData: {
    raw: (data: string) => data,
    json: (data: string) => tryParseJson(data),
    bytes: (data: string) => Buffer.byteLength(data),
  },
};
