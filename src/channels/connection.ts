/** Per-socket state held by the engine. */
import type { App } from '../apps/app.js';
import { encodeError } from '../protocol/messages.js';
import type { Channel } from './channel.js';
import { OutboundMessage, type ConnectionTransport } from './transport.js';

export interface SignedInUser {
  id: string;
  /** The exact user_data JSON string the app server signed. */
  userData: string;
  userInfo: unknown;
  watchlist: string[];
}

export class Connection {
  readonly subscriptions = new Map<string, Channel>();
  user: SignedInUser | undefined;
  lastActivity: number;
  /** When the server sent a ping that is not answered yet (0 = none outstanding). */
  pingSentAt = 0;
  closed = false;
  /** Client-event token bucket: tokens left and when it was last refilled. */
  clientEventTokens: number;
  clientEventRefilledAt: number;
  /** Frames are handled in order; set while an asynchronous step (e.g. a cluster lookup) runs. */
  pending: Promise<void> | undefined;
  authDeadline = 0;

  constructor(
    readonly socketId: string,
    public app: App,
    readonly transport: ConnectionTransport,
    readonly remoteAddress: string | undefined,
    now: number,
  ) {
    this.lastActivity = now;
    this.clientEventTokens = app.limits.clientEventsPerSecond;
    this.clientEventRefilledAt = now;
  }

  send(message: OutboundMessage): void {
    if (!this.closed) this.transport.deliver(message);
  }

  sendText(text: string): void {
    this.send(new OutboundMessage(text));
  }

  sendError(message: string, code: number | null, channel?: string): void {
    this.sendText(encodeError(message, code, channel));
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.transport.closeWith(code, reason);
  }

  /** Token bucket of `clientEventsPerSecond`, refilled continuously. */
  takeClientEventToken(now: number): boolean {
    const rate = this.app.limits.clientEventsPerSecond;
    if (rate === 0) return true;
    const elapsed = now - this.clientEventRefilledAt;
    if (elapsed > 0) {
      this.clientEventTokens = Math.min(rate, this.clientEventTokens + (elapsed * rate) / 1000);
      this.clientEventRefilledAt = now;
    }
    if (this.clientEventTokens < 1) return false;
    this.clientEventTokens -= 1;
    return true;
  }
}
