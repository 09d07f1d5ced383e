/** pusher-js clients whose auth endpoints are answered in-process by herald/sdk (no auth HTTP server). */
import type { TestHerald } from '../helpers/herald.js';
import type { PusherJs } from '../helpers/pusher-js.js';
import { nextEvent, withTimeout } from '../helpers/wait.js';
import type { ChannelsClient, PresenceChannelData, UserData } from '../../src/sdk/index.js';

type Callback = (error: Error | null, data: unknown) => void;

/** `presence: null` authorizes presence channels without channelData (the signed-in user joins). */
export function sdkAuthorizedClient(h: TestHerald, sdk: ChannelsClient, spec: { user?: UserData; presence?: PresenceChannelData | null } = {}): PusherJs {
  return h.pusherClient({
    channelAuthorization: {
      customHandler: (params: { socketId: string; channelName: string }, callback: Callback) => {
        const presence = spec.presence === null ? undefined : (spec.presence ?? { user_id: spec.user?.id ?? 'anonymous' });
        const channelData = params.channelName.startsWith('presence-') ? presence : undefined;
        sdk.authorizeChannel({ socketId: params.socketId, channel: params.channelName, channelData }).then(
          (auth) => callback(null, auth),
          (error: Error) => callback(error, null),
        );
      },
    },
    userAuthentication: {
      customHandler: (params: { socketId: string }, callback: Callback) => {
        sdk.authenticateUser({ socketId: params.socketId, userData: spec.user ?? { id: 'anonymous' } }).then(
          (auth) => callback(null, auth),
          (error: Error) => callback(error, null),
        );
      },
    },
  });
}

import { connected, subscribed } from '../helpers/pusher-js.js';
export { connected, subscribed };

/** signin() and wait until the automatic `#server-to-user-{id}` subscription succeeded. */
export async function signedIn(client: PusherJs): Promise<void> {
  await connected(client);
  const ready = new Promise<void>((resolve) => {
    const handler = (message: { event: string; channel?: string }) => {
      if (message.event === 'pusher_internal:subscription_succeeded' && message.channel?.startsWith('#server-to-user-')) {
        client.connection.unbind('message', handler);
        resolve();
      }
    };
    client.connection.bind('message', handler);
  });
  client.signin();
  await withTimeout(ready, 5000, 'the #server-to-user- subscription');
}

/** The next 40xx close pusher-js reports (shared helper; also clears faye's stray 30 s timer). */
export { closeCode as nextCloseCode } from './../helpers/pusher-js.js';
