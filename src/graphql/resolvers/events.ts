/**
 * triggerEvent, triggerBatchEvents and authorizeChannel. Publishing goes through exactly what
 * POST /apps/{id}/events uses: `validateEvent` (names, sizes, channel rules), the `beforePublish`
 * hooks (daily quota, metrics), then `engine.publish`. Authorization signs with the protocol's
 * HMAC helpers, the same strings the engine verifies.
 */
import type { App } from '../../apps/app.js';
import { validateEvent, type EventBody, type ValidEvent } from '../../http-api/publish.js';
import { channelSharedSecret, ENCRYPTION_MASTER_KEY_BYTES } from '../../protocol/encrypted-channels.js';
import { channelType, isPresenceChannel, requiresAuth } from '../../protocol/names.js';
import { channelAuthString, hmacSha256Hex } from '../../protocol/signatures.js';
import { appFor, type GraphQLContext } from '../context/auth.js';
import { badInput, forbidden, toGraphQLError } from '../errors.js';
import type { ResolverMap } from '../schema.js';
import { channelTypeName, validChannelName, type ChannelRef } from './channels.js';

interface TriggerInput {
  name: string;
  data: unknown;
  channels: string[];
  socketId?: string | null;
}

interface BatchInput {
  name: string;
  data: unknown;
  channel: string;
  socketId?: string | null;
}

interface AuthorizeInput {
  socketId: string;
  channel: string;
  presenceMember?: { userId: string; userInfo?: unknown } | null;
  encryptionMasterKeyBase64?: string | null;
}

/** The app to publish or sign for: disabled apps refuse API calls, for admins too (as the REST API). */
function activeApp(ctx: GraphQLContext, appId: string | undefined): App {
  const app = appFor(ctx, appId);
  if (!app.enabled) throw forbidden('Application disabled');
  return app;
}

/** validateEvent throws DomainError (`invalid`, `too_large`): reported as BAD_USER_INPUT with the same message. */
function validate(body: EventBody, app: App, where?: string): ValidEvent {
  try {
    return validateEvent(body, app, where);
  } catch (err) {
    throw toGraphQLError(err);
  }
}

/** The same admission as the HTTP API: every beforePublish hook (quotas refuse with DomainError `quota`). */
async function admit(ctx: GraphQLContext, app: App, events: ValidEvent[]): Promise<void> {
  try {
    for (const hook of ctx.deps.hooks.beforePublish) await hook(app, events);
  } catch (err) {
    throw toGraphQLError(err);
  }
}

/** Resolves once the broker accepted the event, as the REST API answers; a refusal (broker down) is the field's error. */
async function publish(ctx: GraphQLContext, app: App, event: ValidEvent): Promise<void> {
  try {
    await ctx.deps.engine.publish({ appId: app.id, channels: event.channels, event: event.name, data: event.data, excludeSocketId: event.socketId });
  } catch (err) {
    throw toGraphQLError(err);
  }
}

/** user_id / user_info checks the engine applies at subscription, reported before signing. */
function presenceChannelData(app: App, member: NonNullable<AuthorizeInput['presenceMember']>): string {
  const userId = String(member.userId);
  if (userId.length === 0) throw badInput('presenceMember.userId must not be empty', 'presenceMember.userId');
  if (userId.length > app.limits.maxUserIdLength) {
    throw badInput(`presenceMember.userId is too long (limit ${app.limits.maxUserIdLength} characters)`, 'presenceMember.userId');
  }
  const info = member.userInfo;
  if (info !== undefined && info !== null && Buffer.byteLength(JSON.stringify(info)) > app.limits.maxPresenceUserInfoBytes) {
    throw badInput(`presenceMember.userInfo is too large (limit ${app.limits.maxPresenceUserInfoBytes} bytes)`, 'presenceMember.userInfo');
  }
  return JSON.stringify(info === undefined || info === null ? { user_id: userId } : { user_id: userId, user_info: info });
}

async function sharedSecret(channel: string, masterKeyBase64: string | null | undefined): Promise<string> {
  if (!masterKeyBase64) {
    throw badInput('Encrypted channels need encryptionMasterKeyBase64: pusher-js cannot decrypt without shared_secret', 'encryptionMasterKeyBase64');
  }
  const key = Buffer.from(masterKeyBase64, 'base64');
  if (key.length !== ENCRYPTION_MASTER_KEY_BYTES || !/^[A-Za-z0-9+/]+={0,2}$/.test(masterKeyBase64)) {
    throw badInput('encryptionMasterKeyBase64 must be 32 bytes, base64-encoded', 'encryptionMasterKeyBase64');
  }
  return Buffer.from(await channelSharedSecret(channel, key)).toString('base64');
}

export const eventResolvers: ResolverMap = {
  Mutation: {
    triggerEvent: async (_root, args: { appId?: string; input: TriggerInput }, ctx) => {
      const app = activeApp(ctx, args.appId);
      const { input } = args;
      const event = validate({ name: input.name, data: input.data, channels: input.channels, socket_id: input.socketId ?? undefined }, app);
      await admit(ctx, app, [event]);
      await publish(ctx, app, event);
      return {
        name: event.name,
        data: event.data,
        channels: event.channels.map((name): ChannelRef => ({ app, name })),
        socketId: event.socketId ?? null,
        triggeredAt: new Date(),
      };
    },

    triggerBatchEvents: async (_root, args: { appId?: string; events: BatchInput[] }, ctx) => {
      const app = activeApp(ctx, args.appId);
      const batch = args.events;
      if (batch.length === 0) throw badInput('batch must not be empty', 'events');
      if (batch.length > app.limits.maxBatchSize) throw badInput(`Batch too large: ${batch.length} events (limit ${app.limits.maxBatchSize})`, 'events');
      const events = batch.map((item, i) =>
        validate({ name: item.name, data: item.data, channel: item.channel, socket_id: item.socketId ?? undefined }, app, `batch[${i}]: `),
      );
      await admit(ctx, app, events);
      await Promise.all(events.map((event) => publish(ctx, app, event)));
      return events.map((event, index) => ({
        index,
        name: event.name,
        data: event.data,
        channel: { app, name: event.channels[0]! } satisfies ChannelRef,
        socketId: event.socketId ?? null,
      }));
    },

    authorizeChannel: async (_root, args: { appId?: string; input: AuthorizeInput }, ctx) => {
      const app = activeApp(ctx, args.appId);
      const { socketId, presenceMember, encryptionMasterKeyBase64 } = args.input;
      const channel = validChannelName(app, args.input.channel, 'channel');
      if (!requiresAuth(channel)) throw badInput('Only private-, presence- and private-encrypted- channels need authorization', 'channel');
      const presence = isPresenceChannel(channel);
      const encrypted = channelType(channel).kind === 'encrypted';
      if (!presence && presenceMember) throw badInput('presenceMember is only used for presence- channels', 'presenceMember');
      if (!encrypted && encryptionMasterKeyBase64) throw badInput('encryptionMasterKeyBase64 is only used for private-encrypted- channels', 'encryptionMasterKeyBase64');

      // Presence without presenceMember: pusher-js ≥ 7.4's flow for a signed-in connection, signed
      // over `{socket_id}:{channel}`; the server admits the signed-in user (spec A.3).
      const channelData = presence && presenceMember ? presenceChannelData(app, presenceMember) : undefined;
      const auth = `${app.key}:${hmacSha256Hex(app.secret, channelAuthString(socketId, channel, channelData))}`;
      const secret = encrypted ? await sharedSecret(channel, encryptionMasterKeyBase64) : undefined;
      // Key order as the official SDK writes it: channel_data, auth, shared_secret.
      const body: Record<string, string> = channelData === undefined ? { auth } : { channel_data: channelData, auth };
      if (secret) body.shared_secret = secret;
      return {
        channel,
        socketId,
        channelType: channelTypeName(channel),
        token: { auth, channelData: channelData ?? null, sharedSecret: secret ?? null },
        private: presence ? null : { channel, socketId, auth, sharedSecret: secret ?? null },
        presence:
          presenceMember && channelData !== undefined
            ? { channel, socketId, auth, channelData, member: { id: String(presenceMember.userId), info: presenceMember.userInfo ?? null } }
            : null,
        body,
      };
    },
  },

  TriggerEvent: {
    data: (event: { data: string }) => event.data,
  },
  BatchEvent: {
    data: (event: { data: string }) => event.data,
  },
};
