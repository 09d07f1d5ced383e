/**
 * The broker and control bus between the workers of one node. A channel event published on a
 * worker is handed to that worker's engine in the same turn and sent to the hub once; the hub
 * hands the same message once to each other worker that has subscribers on the channel
 * (per-channel interest, as the Redis broker has). Nothing is framed per recipient: the
 * receiving engine builds the WebSocket frame once for all its sockets.
 */
import { eventFrame, type Broker, type ChannelEvent, type Control, type ControlMessage } from '../scaling/broker.js';
import type { IpcPeer } from '../platform/ipc.js';

export const EVENT_OP = 'bus.event';
export const CONTROL_OP = 'bus.control';
export const SUBSCRIBE_OP = 'bus.subscribe';
export const UNSUBSCRIBE_OP = 'bus.unsubscribe';

export class IpcBroker implements Broker {
  readonly name = 'workers';
  private handler: (event: ChannelEvent) => void = () => undefined;
  private connected = true;
  /** True while the engine handles an event another worker published (observers can tell). */
  relaying = false;

  constructor(private readonly hub: IpcPeer) {
    hub.handle(EVENT_OP, (event) => {
      this.relaying = true;
      try {
        this.handler(event as ChannelEvent);
      } finally {
        this.relaying = false;
      }
    });
  }

  publish(event: ChannelEvent): void {
    // The frame travels with the event: serialized once here, not by each worker it reaches.
    eventFrame(event);
    // Back to this worker's engine after the publishing code has run, as a networked broker's
    // echo is; a microtask, so still in this event-loop turn.
    queueMicrotask(() => this.handler(event));
    this.hub.notify(EVENT_OP, event);
  }

  onEvent(handler: (event: ChannelEvent) => void): void {
    this.handler = handler;
  }

  /** Settles once the hub relays the channel's events here: nothing published later is missed. */
  subscribe(appId: string, channel: string): Promise<void> {
    return this.hub.request(SUBSCRIBE_OP, { appId, channel });
  }

  unsubscribe(appId: string, channel: string): void {
    this.hub.notify(UNSUBSCRIBE_OP, { appId, channel });
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  healthy(): boolean {
    return this.connected;
  }

  disconnected(): void {
    this.connected = false;
  }
}

export class IpcControl implements Control {
  private handler: (message: ControlMessage) => void = () => undefined;

  constructor(private readonly hub: IpcPeer) {
    hub.handle(CONTROL_OP, (message) => this.handler(message as ControlMessage));
  }

  /** Reaches this worker too (after the sending code, as the broker's echo does) and every other one that needs it. */
  send(message: ControlMessage): void {
    queueMicrotask(() => this.handler(message));
    this.hub.notify(CONTROL_OP, message);
  }

  onMessage(handler: (message: ControlMessage) => void): void {
    this.handler = handler;
  }
}
