/**
 * One pusher-js HTTP session (xhr_streaming or xhr_polling): the engine's ConnectionTransport for
 * a client that cannot use WebSockets. Messages wait here until a receive request is attached
 * (always, for streaming; between polls, for polling), bounded by `maxBufferedBytes`.
 */
import type { ServerResponse } from 'node:http';
import { CloseCode } from '../../protocol/errors.js';
import type { Connection } from '../../channels/connection.js';
import type { ConnectionTransport, OutboundMessage } from '../../channels/transport.js';
import { closeFrame, HEARTBEAT_FRAME, messagesFrame } from './framing.js';

export type XhrKind = 'xhr_streaming' | 'xhr_polling';

/**
 * pusher-js reopens its stream once it has read more than this many characters of one streaming
 * response (HTTPRequest's MAX_BUFFER_LENGTH, core/http/http_request.ts, 256 KiB) and aborts the
 * old response: whatever is written to that one afterwards never reaches it.
 */
export const STREAM_REOPEN_CHARS = 256 * 1024;

/** What a session needs from its gateway (limits, the shared flush, and being told it closed). */
export interface SessionHost {
  readonly maxBufferedBytes: number;
  scheduleFlush(session: XhrSession): void;
  sessionClosed(session: XhrSession, code: number): void;
}

export class XhrSession implements ConnectionTransport {
  connection: Connection | undefined = undefined;
  /** Texts of messages not yet written, and their length in characters. */
  private pending: string[] = [];
  private pendingChars = 0;
  private receiver: ServerResponse | undefined = undefined;
  private receiverKind: XhrKind | undefined = undefined;
  /** Characters written to the attached streaming response (the client's buffer length). */
  private streamedChars = 0;
  /** When the attached receive request began, or when the last one ended (idle timing). */
  since: number;
  /** The last write to a streaming receiver (heartbeat timing). */
  lastWrite: number;
  /** Set once closed: the frame later requests of this session are answered with. */
  closedWith: string | undefined = undefined;
  flushQueued = false;

  constructor(
    readonly id: string,
    readonly kind: XhrKind,
    readonly ip: string,
    private readonly host: SessionHost,
    now: number,
  ) {
    this.since = now;
    this.lastWrite = now;
  }

  get attached(): boolean {
    return this.receiver !== undefined;
  }

  get polling(): boolean {
    return this.receiverKind === 'xhr_polling';
  }

  deliver(message: OutboundMessage): void {
    if (this.closedWith !== undefined) return;
    const text = message.text;
    const buffered = this.pendingChars + text.length + (this.receiver?.writableLength ?? 0);
    if (buffered > this.host.maxBufferedBytes) {
      // Like a WebSocket that stops reading: 4100 makes pusher-js come back later.
      this.closeWith(CloseCode.OverCapacity, 'Client is not reading fast enough');
      return;
    }
    this.pending.push(text);
    this.pendingChars += text.length;
    if (this.receiver && !this.flushQueued) this.host.scheduleFlush(this);
  }

  /**
   * A stream past STREAM_REOPEN_CHARS is about to be replaced by pusher-js: nothing more is
   * written to it, so messages wait (bounded by maxBufferedBytes) for the new receive request.
   */
  private get streamFull(): boolean {
    return this.receiverKind === 'xhr_streaming' && this.streamedChars > STREAM_REOPEN_CHARS;
  }

  /** Writes what is pending to the attached receiver; a poll ends after one frame. */
  flush(now: number): void {
    this.flushQueued = false;
    const res = this.receiver;
    if (!res || this.pending.length === 0 || this.streamFull) return;
    const frame = messagesFrame(this.pending);
    this.pending = [];
    this.pendingChars = 0;
    this.write(res, frame, now);
    if (this.receiverKind === 'xhr_polling') this.endReceiver(now);
  }

  private write(res: ServerResponse, text: string, now: number): void {
    res.write(text);
    this.streamedChars += text.length;
    this.lastWrite = now;
  }

  closeWith(code: number, reason: string): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = closeFrame(code, reason);
    const res = this.receiver;
    if (res) {
      // Messages sent before the close (e.g. the pusher:error explaining it) go first.
      if (this.pending.length > 0) res.write(messagesFrame(this.pending));
      res.end(this.closedWith);
      this.receiver = undefined;
    }
    this.host.sessionClosed(this, code);
  }

  /**
   * A receive request for this session: it replaces any earlier one (pusher-js reopens its stream).
   * `written`: characters the gateway already wrote to it (a new stream's prelude and open frame).
   */
  attach(res: ServerResponse, kind: XhrKind, now: number, written = 0): void {
    this.endReceiver(now);
    this.receiver = res;
    this.receiverKind = kind;
    this.streamedChars = written;
    this.since = now;
    this.lastWrite = now;
    res.once('close', () => this.detached(res));
    if (this.pending.length > 0) this.flush(now);
  }

  /** Streaming heartbeat, or the end of a poll that had nothing to say. */
  heartbeat(now: number): void {
    const res = this.receiver;
    if (!res || this.streamFull) return;
    this.write(res, HEARTBEAT_FRAME, now);
    if (this.receiverKind === 'xhr_polling') this.endReceiver(now);
  }

  /** Ends the attached response; the session stays open waiting for the next request. */
  endReceiver(now: number): void {
    const res = this.receiver;
    if (!res) return;
    this.receiver = undefined;
    this.since = now;
    res.end();
  }

  /** Drops the attached response without writing (shutdown, or a client that went away). */
  destroyReceiver(): void {
    const res = this.receiver;
    this.receiver = undefined;
    res?.destroy();
  }

  private detached(res: ServerResponse): void {
    if (this.receiver !== res) return;
    this.receiver = undefined;
    this.since = Date.now();
  }
}
