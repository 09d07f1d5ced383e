/**
 * The broker between the workers of one node. A message published on a worker is handed to that
 * worker's engine in the same turn and sent to the primary once; the primary relays the same message to
 * each other worker once (supervisor.ts). Nothing is framed per recipient: the receiving engine
 * builds the WebSocket frame once for all its sockets, as for any broker message.
 */
import type { Broker, BrokerMessage } from '../scaling/broker.js';
import type { IpcPeer } from './ipc.js';

export const BUS_OP = 'bus';

export class IpcBroker implements Broker {
  readonly name = 'workers';
  private handler: (message: BrokerMessage) => void = () => undefined;
  private connected = true;

  constructor(private readonly primary: IpcPeer) {
    primary.handle(BUS_OP, (message) => this.handler(message as BrokerMessage));
  }

  publish(message: BrokerMessage): void {
    // Handed back to this worker's engine after the publishing code has run, as a networked
    // broker's echo is: a join announces its count before it adds the socket, and the socket
    // must be in the channel when the count arrives. A microtask: still this event-loop turn.
    queueMicrotask(() => this.handler(message));
    this.primary.notify(BUS_OP, message);
  }

  onMessage(handler: (message: BrokerMessage) => void): void {
    this.handler = handler;
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
