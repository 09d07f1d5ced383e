import type { Broker, BrokerMessage } from './broker.js';

/** Single-node broker: hands every message straight to the local engine. */
export class MemoryBroker implements Broker {
  readonly name = 'memory';
  private handler: (message: BrokerMessage) => void = () => undefined;

  publish(message: BrokerMessage): void {
    this.handler(message);
  }

  onMessage(handler: (message: BrokerMessage) => void): void {
    this.handler = handler;
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  healthy(): boolean {
    return true;
  }
}
