/** Authorized pusher-js clients for the end-to-end channel tests, signed by the `pusher` SDK without an auth HTTP server. */
import type Pusher from 'pusher';
import type { TestHerald } from '../helpers/herald.js';
import type { PusherJs } from '../helpers/pusher-js.js';
import { nextEvent, withTimeout } from '../helpers/wait.js';

export interface UserSpec {
  id: string;
  user_info?: Record<string, unknown>;
  watchlist?: string[];
}

export interface AuthorizedClientOptions {
  /** Presence data for presence channels (defaults to the signed-in user, or a fixed test user). */
  presence?: { user_id: string | number; user_info?: unknown };
  /** The user pusher.signin() authenticates as. */
  user?: UserSpec;
  /** Extra pusher-js options. */
  options?: Record<string, unknown>;
}

/**
 * A stock pusher-js client whose channel authorization and user authentication are answered
 * in-process by the stock `pusher` SDK (the same signatures an app's auth endpoint would return).
 */
export function authorizedClient(h: TestHerald, server: Pusher, spec: AuthorizedClientOptions = {}): PusherJs {
  return h.pusherClient({
    channelAuthorization: {
      customHandler: (params: { socketId: string; channelName: string }, cb: (err: Error | null, data: unknown) => void) => {
        try {
          const presence = params.channelName.startsWith('presence-')
            ? (spec.presence ?? { user_id: spec.user?.id ?? 'presence-user', user_info: spec.user?.user_info })
            : undefined;
          cb(null, server.authorizeChannel(params.socketId, params.channelName, presence as Pusher.PresenceChannelData | undefined));
        } catch (err) {
          cb(err as Error, null);
        }
      },
    },
    userAuthentication: {
      customHandler: (params: { socketId: string }, cb: (err: Error | null, data: unknown) => void) => {
        try {
          cb(null, server.authenticateUser(params.socketId, (spec.user ?? { id: 'anonymous' }) as Pusher.UserChannelData));
        } catch (err) {
          cb(err as Error, null);
        }
      },
    },
    ...spec.options,
  });
}

import { connected, subscribed } from '../helpers/pusher-js.js';
export { connected, subscribed };

/** pusher.signin() and wait until the server accepted it (pusher:signin_success reached the client). */
export async function signedIn(client: PusherJs): Promise<void> {
  await connected(client);
  const success = new Promise<void>((resolve) => {
    const handler = (message: { event: string }) => {
      if (message.event !== 'pusher:signin_success') return;
      client.connection.unbind('message', handler);
      resolve();
    };
    client.connection.bind('message', handler);
  });
  client.signin();
  await withTimeout(success, 5000, 'pusher:signin_success');
}

export { closeCode } from '../helpers/pusher-js.js';

/** Collects every event a pusher-js channel emits, for "nothing else arrived" assertions. */
export function recordChannel(channel: { bind_global(cb: (event: string, data: unknown) => void): unknown }) {
  const events: Array<{ event: string; data: unknown }> = [];
  channel.bind_global((event, data) => events.push({ event, data }));
  return events;
}
