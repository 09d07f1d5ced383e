/**
 * Carries messages between Herald nodes. A published message reaches every node that listens to
 * its channel (or, without per-channel interest, every node), the publishing one included. The
 * in-process broker is the single-node default; Redis and NATS brokers implement the same
 * interface (docs/scaling.md).
 */

export type BrokerMessage =
  /** A channel event for local subscribers of `channel`, minus `excludeSocketId`. */
  | {
      type: 'event';
      appId: string;
      channel: string;
      /** The serialized frame (rebuilt by the receiving node from the fields below). */
      frame: string;
      excludeSocketId?: string;
      eventName: string;
      data: string;
      source: 'api' | 'client';
      /** Client events on presence channels carry the sender's user id. */
      userId?: string;
    }
  /** Close every connection signed in as `userId`. */
  | { type: 'terminate-user'; appId: string; userId: string }
  /**
   * A presence member joined or left cluster-wide (clustered nodes only). `revision` orders
   * changes of one app: a node ignores a change older than what it (or a socket's roster) has seen.
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
  /** The cluster-wide subscriber count of a channel changed (clustered nodes only). */
  | { type: 'subscription-count'; appId: string; channel: string; count: number; revision: number }
  /** A signed-in user came online or went offline cluster-wide (watchlists; clustered nodes only). */
  | { type: 'user-status'; appId: string; userId: string; online: boolean; revision: number };

/** Messages routed by channel: with per-channel interest only nodes listening to it get them. */
export type ChannelMessage = Extract<BrokerMessage, { channel: string }>;

export interface Broker {
  readonly name: string;
  /**
   * Sends a message to the nodes. Networked brokers return a promise that settles (never
   * rejects: failures are logged) once the server accepted it, so an acknowledged HTTP publish
   * survives the node dying right after.
   */
  publish(message: BrokerMessage): void | Promise<void>;
  /** Registers the local handler. Only one handler: the node's engine. */
  onMessage(handler: (message: BrokerMessage) => void): void;
  /**
   * Per-channel interest (optional): start receiving the messages of one channel; resolves once
   * the subscription is active, so nothing published after that is missed. Brokers without it
   * deliver every message to every node.
   */
  listen?(appId: string, channel: string): Promise<void>;
  /** Stops receiving a channel's messages (the node has no subscriber left on it). */
  unlisten?(appId: string, channel: string): void;
  /** Resolves once connected (no-op for in-process). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** False while the broker's connection is down (readiness). */
  healthy(): boolean;
}

export function isChannelMessage(message: BrokerMessage): message is ChannelMessage {
  return 'channel' in message;
}
