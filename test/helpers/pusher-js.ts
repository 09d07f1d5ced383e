/** The stock pusher-js Node build (CommonJS; its default export is the Pusher class). */
import PusherJsClass from 'pusher-js';
import type { Options } from 'pusher-js';
import { nextEvent, withTimeout } from './wait.js';

export const PusherJs = PusherJsClass;
export type PusherJs = PusherJsClass;
export type PusherJsOptions = Options;

/**
 * Resolves with the next close error code pusher-js reports (e.g. 4009) from a server-side close.
 *
 * pusher-js answers a 40xx close by calling close() on its (already closed) faye-websocket, which
 * then arms a 30 s timer that nothing clears and that keeps the test process alive. We clear it
 * once pusher-js has finished handling the close; the client itself behaves exactly as shipped.
 */
export function closeCode(client: PusherJsClass, ms = 5000): Promise<number> {
  let socket: { _closeTimer?: NodeJS.Timeout } | undefined;
  return withTimeout(
    new Promise<number>((resolve) => {
      const handler = (err: { type?: string; data?: { code?: number }; error?: { data?: { code?: number } } }) => {
        const code = err?.data?.code ?? err?.error?.data?.code;
        if (typeof code === 'number' && code >= 4000 && code < 4100) {
          client.connection.unbind('error', handler);
          socket = (client.connection as unknown as { connection?: { transport?: { socket?: typeof socket } } }).connection?.transport?.socket;
          resolve(code);
        }
      };
      client.connection.bind('error', handler);
    }),
    ms,
    'a 40xx close',
  ).then((code) => {
    if (socket?._closeTimer) clearTimeout(socket._closeTimer);
    return code;
  });
}


export async function connected(client: PusherJsClass): Promise<void> {
  if (client.connection.state === 'connected') return;
  await nextEvent(client.connection, 'connected');
}

/** Subscribes and waits for pusher:subscription_succeeded; returns the channel. */
export async function subscribed(client: PusherJsClass, name: string) {
  const channel = client.subscribe(name);
  await nextEvent(channel, 'pusher:subscription_succeeded');
  return channel;
}
