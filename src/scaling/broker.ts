/**
 * Carries messages between Herald nodes. Every node subscribes; a published message reaches
 * every node, the publishing one included. The in-process broker is the single-node default;
 * Redis and NATS brokers implement the same interface.
 */

export type BrokerMessage =
  /** A serialized channel event for local subscribers of `channel`, minus `excludeSocketId`. */
  | { type: 'event'; appId: string; channel: string; frame: string; excludeSocketId?: string; eventName: string; data: string; source: 'api' | 'client' }
  /** Close every connection signed in as `userId`. */
  | { type: 'terminate-user'; appId: string; userId: string };

export interface Broker {
  readonly name: string;
  publish(message: BrokerMessage): void;
  /** Registers the local handler. Only one handler: the node's engine. */
  onMessage(handler: (message: BrokerMessage) => void): void;
  /** Resolves once connected (no-op for in-process). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** False while the broker's connection is down (readiness). */
  healthy(): boolean;
}
