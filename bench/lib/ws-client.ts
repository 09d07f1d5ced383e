/**
 * A minimal Pusher protocol 7 client for load generation: one socket, at most one channel at a
 * time (a LeanWebSocket, not `ws`: see lean-websocket.ts), and just enough protocol (connection_established, subscribe with private/presence auth,
 * unsubscribe, ping/pong). It keeps a few counters per client instead of event emitters so that
 * 100,000 of them fit in a handful of generator processes.
 */
import { CLOSED, LeanWebSocket, OPEN } from './lean-websocket.js';
import { channelAuth } from './signing.js';
import { SequenceWindow } from './sequence.js';
import { BENCH_EVENT, decodeBenchFrame, frameEventName, nowMillis, type BenchPayload } from './payload.js';

/** Receives what the clients observe; implemented by the generator worker. */
export interface ClientSink {
  onBench(client: BenchClient, payload: BenchPayload, receivedAt: number): void;
  onMemberEvent(client: BenchClient): void;
  onProtocolError(client: BenchClient, message: string): void;
  onUnexpectedClose(client: BenchClient, code: number): void;
}

export interface ClientOptions {
  url: string;
  key: string;
  secret: string;
  localAddress?: string;
  /** Limit for the handshake and for each subscribe round trip. */
  timeoutMs: number;
}

type Pending = { resolve: () => void; reject: (error: Error) => void; timer: NodeJS.Timeout };

export class BenchClient {
  socket: LeanWebSocket | undefined;
  socketId: string | undefined;
  channel: string | undefined;
  /** Channel of the last subscribe; kept after a close so a dropped subscriber's losses still count. */
  accountedChannel: string | undefined;
  /** Per-phase delivery accounting for the current channel (see worker.ts). */
  readonly sequence = new SequenceWindow();
  private pending: Pending | undefined;
  private closing = false;

  constructor(
    readonly index: number,
    private readonly options: ClientOptions,
    private readonly sink: ClientSink,
  ) {}

  get isOpen(): boolean {
    return this.socket !== undefined && this.socket.readyState === OPEN && this.socketId !== undefined;
  }

  /** Opens the socket and resolves once `pusher:connection_established` arrived. */
  connect(): Promise<void> {
    this.closing = false;
    this.socketId = undefined;
    const socket = new LeanWebSocket(this.options.url, {
      handshakeTimeout: this.options.timeoutMs,
      localAddress: this.options.localAddress,
    });
    this.socket = socket;
    const established = this.expectReply('connection');
    socket.onText = (text) => this.handleFrame(text);
    socket.on('error', (error) => this.failPending(error));
    socket.on('close', (code: number) => {
      this.failPending(new Error(`socket closed with code ${code}`));
      if (!this.closing) this.sink.onUnexpectedClose(this, code);
      if (this.socket === socket) {
        this.socket = undefined;
        this.socketId = undefined;
        this.channel = undefined;
      }
    });
    return established;
  }

  /** Subscribes to a public, private or presence channel; resolves on subscription_succeeded. */
  subscribe(channel: string, presenceUserId?: string): Promise<void> {
    if (!this.isOpen) return Promise.reject(new Error('not connected'));
    const data: Record<string, string> = { channel, auth: '' };
    if (channel.startsWith('presence-')) {
      const channelData = JSON.stringify({ user_id: presenceUserId ?? `user-${this.index}`, user_info: { name: 'bench' } });
      data.channel_data = channelData;
      data.auth = channelAuth(this.options, this.socketId!, channel, channelData);
    } else if (channel.startsWith('private-')) {
      data.auth = channelAuth(this.options, this.socketId!, channel);
    }
    this.channel = channel;
    this.accountedChannel = channel;
    const done = this.expectReply(`subscription to ${channel}`);
    this.socket!.send(JSON.stringify({ event: 'pusher:subscribe', data }));
    return done;
  }

  unsubscribe(): void {
    if (this.channel !== undefined && this.isOpen) {
      this.socket!.send(JSON.stringify({ event: 'pusher:unsubscribe', data: { channel: this.channel } }));
    }
    this.channel = undefined;
  }

  /** Closes on purpose (not reported as unexpected); resolves when the socket is gone. */
  close(): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.readyState === CLOSED) return Promise.resolve();
    this.closing = true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        socket.terminate();
        resolve();
      }, 2000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.close(1000);
    });
  }

  resetAccounting(): void {
    this.sequence.reset();
  }

  private expectReply(what: string): Promise<void> {
    this.failPending(new Error('superseded'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        reject(new Error(`timed out waiting for ${what}`));
      }, this.options.timeoutMs);
      this.pending = { resolve, reject, timer };
    });
  }

  private settlePending(error?: Error): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve();
  }

  private failPending(error: Error): void {
    this.settlePending(error);
  }

  private handleFrame(text: string): void {
    const receivedAt = nowMillis();
    const event = frameEventName(text);
    switch (event) {
      case BENCH_EVENT: {
        const payload = decodeBenchFrame(text);
        if (payload) this.sink.onBench(this, payload, receivedAt);
        else this.sink.onProtocolError(this, 'undecodable benchmark event');
        return;
      }
      case 'pusher_internal:member_added':
      case 'pusher_internal:member_removed':
        this.sink.onMemberEvent(this);
        return;
      case 'pusher_internal:subscription_succeeded':
        this.settlePending();
        return;
      case 'pusher:connection_established':
        this.onEstablished(text);
        return;
      case 'pusher:ping':
        this.socket?.send('{"event":"pusher:pong","data":{}}');
        return;
      case 'pusher:error':
      case 'pusher:subscription_error': {
        const message = `${event}: ${text.slice(0, 300)}`;
        this.sink.onProtocolError(this, message);
        this.failPending(new Error(message));
        return;
      }
      default:
        return; // pong, subscription_count, cache_miss… are irrelevant here
    }
  }

  private onEstablished(text: string): void {
    try {
      const frame = JSON.parse(text) as { data: string };
      const data = (typeof frame.data === 'string' ? JSON.parse(frame.data) : frame.data) as { socket_id?: unknown };
      if (typeof data.socket_id !== 'string') throw new Error('no socket_id');
      this.socketId = data.socket_id;
      this.settlePending();
    } catch (error) {
      this.failPending(new Error(`bad connection_established frame: ${(error as Error).message}`));
    }
  }
}
