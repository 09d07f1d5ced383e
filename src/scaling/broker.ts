/**
 * The two message seams between Herald nodes (or between the workers of one node):
 *
 * - Broker: channel events (API publishes, client events), the fan-out hot path. A node receives
 *   the events of the channels it subscribed to, its own publishes included. Subscribing is
 *   mandatory: the engine subscribes when a channel gets its first local subscriber and
 *   unsubscribes after the last one (no-ops in memory).
 * - Control: node-to-node control messages (terminate a user, presence member changes, subscriber
 *   counts, watchlist status). They never travel through the event handler.
 *
 * The in-process implementations are the default (memory-broker.ts); Redis, NATS and IPC
 * implement the same interfaces (docs/scaling.md). Sync/async: methods answer with a plain value
 * in process and with a promise over a network (MaybePromise).
 */
import { encodeEvent } from '../protocol/messages.js';
import type { MaybePromise } from './maybe-promise.js';

/** A channel event for local subscribers of `channel`, minus `excludeSocketId`. */
export interface ChannelEvent {
  appId: string;
  channel: string;
  /**
   * The serialized frame, once eventFrame() has built it from the fields below: only a node with
   * local subscribers on the channel needs it (the wire does not carry it), so a publish to a channel
   * nobody on this node watches is never serialized.
   */
  frame?: string;
  excludeSocketId?: string;
  eventName: string;
  data: string;
  source: 'api' | 'client';
  /** Client events on presence channels carry the sender's user id. */
  userId?: string;
}

export type ControlMessage =
  /** Close every connection signed in as `userId`. */
  | { type: 'terminate-user'; appId: string; userId: string }
  /**
   * A presence member joined or left cluster-wide. `revision` orders changes of one app: a node
   * ignores a change older than what it (or a socket's roster) has seen.
   */
  | {
      type: 'member';
      appId: string;
      channel: string;
      userId: string;
      rawUserId: string | number;
      userInfo?: unknown;
      added: boolean;
      revision: number;
    }
  /** The cluster-wide subscriber count of a channel changed. */
  | { type: 'subscription-count'; appId: string; channel: string; count: number; revision: number }
  /** A signed-in user came online or went offline cluster-wide (watchlists). */
  | { type: 'user-status'; appId: string; userId: string; online: boolean; revision: number }
  | ModuleMessage;

/**
 * A capability module's own message to its peers on every node (e.g. the console's cluster view:
 * connection counts, live-feed entries). `body` is JSON the sending module bounds in size and the
 * receiving module validates; the engine only hands it over (ChannelsEngine.onModuleMessage).
 */
export interface ModuleMessage {
  type: 'module';
  /** '' when the message is about no app in particular. */
  appId: string;
  module: string;
  body: unknown;
}

/** Control messages about one channel: only nodes subscribed to the channel need them. */
export type ChannelControlMessage = Extract<ControlMessage, { channel: string }>;

export interface Broker {
  readonly name: string;
  /**
   * Sends an event to the nodes subscribed to its channel (this one included when subscribed).
   * Networked brokers return a promise that resolves once the server accepted it, so an
   * acknowledged HTTP publish survives the node dying right after, and may reject with an
   * `unavailable` DomainError when the event could not be put in place (Redis: down, or this
   * node still re-subscribing). Such promises are pre-handled, so callers that do not wait (client
   * events) leave no unhandled rejection.
   */
  publish(event: ChannelEvent): MaybePromise<void>;
  /** Registers the local handler of events. Only one handler: the node's engine. */
  onEvent(handler: (event: ChannelEvent) => void): void;
  /**
   * Starts receiving the events (and channel control messages) of one channel; settles once the
   * subscription is active, so nothing published after that is missed. Rejects if refused.
   */
  subscribe(appId: string, channel: string): MaybePromise<void>;
  /** Stops receiving a channel (the node has no subscriber left on it). */
  unsubscribe(appId: string, channel: string): void;
  /** Resolves once connected (no-op in process). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** False while the connection is down (readiness). */
  healthy(): boolean;
}

export interface Control {
  /**
   * Sends a control message: channel control messages reach the nodes subscribed to the channel,
   * the others every node (this one included). Never rejects.
   */
  send(message: ControlMessage): MaybePromise<void>;
  /** Registers the local handler. Only one handler: the node's engine. */
  onMessage(handler: (message: ControlMessage) => void): void;
}

/**
 * The event's frame, built on first use and kept on the event (one serialization for all of a
 * node's recipients; ~0.45 µs for a 100-byte event, most of an in-process publish).
 */
export function eventFrame(event: ChannelEvent): string {
  return (event.frame ??= encodeEvent(event.eventName, event.channel, event.data, event.userId));
}

export function isChannelControl(message: ControlMessage): message is ChannelControlMessage {
  return 'channel' in message;
}
