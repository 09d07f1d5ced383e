/** Client events (spec A.6): client-* on private/presence channels, relayed to the other subscribers. */
import { ErrorCode } from '../protocol/errors.js';
import { dataToString, type InboundFrame } from '../protocol/messages.js';
import { channelType, eventNameError } from '../protocol/names.js';
import type { AppState } from './app-state.js';
import type { Connection } from './connection.js';
import type { ChannelsEngine } from './engine.js';

export const CLIENT_EVENTS_DISABLED = 'To send client events, you must enable this feature in the Settings page of your dashboard.';
export const CLIENT_EVENTS_WRONG_CHANNEL = 'Client event rejected - only supported on private and presence channels';

export function handleClientEvent(engine: ChannelsEngine, state: AppState, conn: Connection, frame: InboundFrame): void {
  const app = conn.app;
  const channelName = frame.channel;
  if (!app.clientEvents) {
    conn.sendError(CLIENT_EVENTS_DISABLED, null, channelName);
    return;
  }
  if (typeof channelName !== 'string') {
    conn.sendError('Client event rejected - a channel is required', null);
    return;
  }
  const kind = channelType(channelName).kind;
  if (kind !== 'private' && kind !== 'presence') {
    // Encrypted channels included: the server cannot vouch for ciphertext the client made.
    conn.sendError(CLIENT_EVENTS_WRONG_CHANNEL, null, channelName);
    return;
  }
  const nameError = eventNameError(frame.event, app.limits.maxEventNameLength);
  if (nameError) {
    conn.sendError(`Client event rejected - ${nameError}`, null, channelName);
    return;
  }
  const subscription = conn.subscriptions.get(channelName);
  if (!subscription?.joined) {
    conn.sendError(`Client event rejected - not subscribed to channel ${channelName}`, null, channelName);
    return;
  }
  if (!conn.takeClientEventToken(engine.now())) {
    conn.sendError(
      `Client event rejected - rate limit of ${app.limits.clientEventsPerSecond} events per second exceeded`,
      ErrorCode.ClientEventRateLimit,
      channelName,
    );
    return;
  }
  const data = dataToString(frame.data);
  if (Buffer.byteLength(data) > app.limits.maxPayloadBytes) {
    conn.sendError(`Client event rejected - data larger than ${app.limits.maxPayloadBytes} bytes`, null, channelName);
    return;
  }
  const userId = subscription.userId;
  // No frame: the nodes with subscribers build it (eventFrame), user_id included.
  void engine.broker.publish({
    appId: app.id,
    channel: channelName,
    excludeSocketId: conn.socketId,
    eventName: frame.event,
    data,
    source: 'client',
    userId,
  });
  engine.emit('clientEvent', app, channelName, frame.event, data, conn.socketId, userId);
}
