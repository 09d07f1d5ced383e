/**
 * The in-process broker and control bus: one node (or a unit test). Everything is handed
 * straight to the local engine, synchronously; subscribe/unsubscribe have nothing to do, since
 * the engine delivers only to channels it has local subscribers on.
 */
import type { Broker, ChannelEvent, Control, ControlMessage } from './broker.js';

export class MemoryBroker implements Broker {
  readonly name: string = 'memory';
  private handler: (event: ChannelEvent) => void = () => undefined;

  publish(event: ChannelEvent): void {
    this.handler(event);
  }

  onEvent(handler: (event: ChannelEvent) => void): void {
    this.handler = handler;
  }

  subscribe(): void {}
  unsubscribe(): void {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  healthy(): boolean {
    return true;
  }
}

export class MemoryControl implements Control {
  private handler: (message: ControlMessage) => void = () => undefined;

  send(message: ControlMessage): void {
    this.handler(message);
  }

  onMessage(handler: (message: ControlMessage) => void): void {
    this.handler = handler;
  }
}
