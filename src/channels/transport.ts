/**
 * The seam between the engine and the network. The engine never touches sockets: a transport
 * (WebSocket in production, an in-memory fake in unit tests) implements this interface.
 */

/**
 * One serialized server→client message, shared by every recipient of a broadcast. Transports
 * may cache their wire encoding (e.g. a pre-built WebSocket frame) in `wire`, so a broadcast is
 * serialized and framed once, not once per recipient.
 */
export class OutboundMessage {
  wire: unknown = undefined;
  constructor(readonly text: string) {}
}

export interface ConnectionTransport {
  /** Which transport this is, for metrics and the console (`ws` when absent). */
  readonly kind?: string;
  /** Queues one message for the client. */
  deliver(message: OutboundMessage): void;
  /** Closes with a WebSocket close code (Pusher 4xxx codes) and a reason; no-op once closing. */
  closeWith(code: number, reason: string): void;
}
