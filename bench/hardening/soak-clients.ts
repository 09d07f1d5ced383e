/**
 * The soak run's WebSocket side: long-lived listeners (public, private and presence channels,
 * reconnecting now and then) and presence churners (join, stay a moment, leave). Each connection
 * is a numbered session; listeners keep their own view of every presence roster, built only from
 * subscription_succeeded and member_added/removed, so it can be compared with the HTTP API.
 */
import { performance } from 'node:perf_hooks';
import { Peer, type AppCredentials, type PusherFrame } from './peer.js';
import type { DeliveryTracker } from './soak-tracker.js';

export interface Session {
  id: number;
  peer: Peer;
  /** channel → when subscription_succeeded arrived (ms, performance clock). */
  subscribedAt: Map<string, number>;
  closing: boolean;
  /** presence channel → user ids, as this session has been told. */
  members: Map<string, Set<string>>;
  /** Client events sent and not yet confirmed by a ping round trip. */
  unconfirmed: string[];
}

export interface SoakChannels {
  public: string[];
  private: string[];
  presence: string[];
}

export class SoakClients {
  readonly sessions = new Map<number, Session>();
  /** Listener index → its current session. */
  private readonly listeners: Array<Session | undefined> = [];
  private nextSession = 0;
  private churnGeneration = 0;
  running = true;
  reconnects = 0;
  churnJoins = 0;

  constructor(
    private readonly wsUrl: string,
    private readonly app: AppCredentials,
    readonly channels: SoakChannels,
    private readonly tracker: DeliveryTracker,
  ) {}

  /** The channels of listener `i`: one of each type. */
  listenerChannels(i: number): string[] {
    const { public: pub, private: priv, presence } = this.channels;
    return [pub[i % pub.length]!, priv[i % priv.length]!, presence[i % presence.length]!];
  }

  async startListeners(count: number): Promise<void> {
    for (let i = 0; i < count; i++) await this.connectListener(i);
  }

  /** Sessions whose subscription to `channel` was confirmed before `at`. */
  subscribers(channel: string, at: number, except?: number): number[] {
    const out: number[] = [];
    for (const s of this.sessions.values()) {
      if (s.closing || s.id === except) continue;
      const since = s.subscribedAt.get(channel);
      if (since !== undefined && since < at) out.push(s.id);
    }
    return out;
  }

  /** A random open listener session, optionally one subscribed to `channel`. */
  randomListener(random: () => number): Session | undefined {
    const open = this.listeners.filter((s): s is Session => !!s && !s.closing && s.subscribedAt.size === 3);
    return open.length ? open[Math.floor(random() * open.length)] : undefined;
  }

  openConnections(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.peer.open) n++;
    return n;
  }

  /** Closes one listener's connection and opens a new one (new socket id, new session). */
  async reconnect(i: number): Promise<void> {
    const old = this.listeners[i];
    if (!old || old.closing) return;
    this.closing(old);
    await old.peer.close();
    this.reconnects++;
    if (this.running) await this.connectListener(i);
  }

  listenerCount(): number {
    return this.listeners.length;
  }

  private closing(session: Session): void {
    session.closing = true;
    this.tracker.sessionClosing(session.id, performance.now());
  }

  private open(peer: Peer, role: string): Session {
    const session: Session = { id: ++this.nextSession, peer, subscribedAt: new Map(), closing: false, members: new Map(), unconfirmed: [] };
    this.sessions.set(session.id, session);
    peer.onFrame = (frame) => this.onFrame(session, frame);
    void peer.closed.then((code) => {
      if (!session.closing) {
        this.tracker.error(`${role} session ${session.id} closed by the server with ${code}`);
        this.closing(session);
      }
      this.sessions.delete(session.id);
    });
    return session;
  }

  private async connectListener(i: number): Promise<void> {
    for (let attempt = 1; this.running; attempt++) {
      try {
        const peer = await Peer.connect(this.wsUrl, this.app.key);
        const session = this.open(peer, `listener ${i}`);
        this.listeners[i] = session;
        // subscribedAt and the roster are recorded in onFrame: frames that arrive in the same
        // TCP read as subscription_succeeded are handled before an awaiting caller resumes.
        for (const channel of this.listenerChannels(i)) await peer.subscribe(this.app, channel, `listener-${i}`);
        return;
      } catch (err) {
        this.tracker.error(`listener ${i} connect/subscribe (attempt ${attempt}): ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, Math.min(5000, 200 * attempt)));
      }
    }
  }

  private onFrame(session: Session, frame: PusherFrame): void {
    const now = performance.now();
    switch (frame.event) {
      case 'pusher_internal:subscription_succeeded': {
        const channel = frame.channel ?? '';
        if (channel.startsWith('presence-')) session.members.set(channel, new Set(frame.data.presence.ids as string[]));
        session.subscribedAt.set(channel, now);
        return;
      }
      case 'soak':
      case 'client-soak': {
        const id = frame.data?.id;
        if (typeof id !== 'string') this.tracker.error(`malformed ${frame.event} frame ${JSON.stringify(frame).slice(0, 120)}`);
        else this.tracker.received(`${id}|${frame.channel}`, session.id, now);
        return;
      }
      case 'pusher_internal:member_added': {
        const set = session.members.get(frame.channel ?? '');
        if (!set) return;
        if (set.has(frame.data.user_id)) this.tracker.error(`session ${session.id}: member_added for ${frame.data.user_id}, already a member`);
        set.add(frame.data.user_id);
        return;
      }
      case 'pusher_internal:member_removed': {
        const set = session.members.get(frame.channel ?? '');
        if (!set) return;
        if (!set.delete(frame.data.user_id)) this.tracker.error(`session ${session.id}: member_removed for ${frame.data.user_id}, not a member`);
        return;
      }
      case 'pusher:pong':
        // The server handles a connection's frames in order: every client event sent before the
        // ping has been handed to its recipients' sockets.
        for (const key of session.unconfirmed.splice(0)) this.tracker.acknowledged(key, now);
        return;
      case 'pusher:ping':
        session.peer.send({ event: 'pusher:pong', data: {} });
        return;
      case 'pusher:error':
        this.tracker.error(`session ${session.id}: pusher:error ${JSON.stringify(frame.data).slice(0, 200)}`);
        return;
      default:
        return;
    }
  }

  /** One presence churner: join with a new user id, stay 0.3–1.5 s, leave (unsubscribe or disconnect). */
  async churn(index: number, random: () => number): Promise<void> {
    const channel = this.channels.presence[index % this.channels.presence.length]!;
    while (this.running) {
      let session: Session | undefined;
      try {
        const peer = await Peer.connect(this.wsUrl, this.app.key);
        session = this.open(peer, `churner ${index}`);
        const userId = `churner-${index}-${++this.churnGeneration}`;
        await peer.subscribe(this.app, channel, userId);
        this.churnJoins++;
        await new Promise((r) => setTimeout(r, 300 + random() * 1200));
        if (random() < 0.5) {
          peer.unsubscribe(channel);
          // A ping round trip proves the unsubscribe was handled before the socket goes.
          const pong = peer.waitFor((f) => f.event === 'pusher:pong', 10_000, 'pong');
          peer.send({ event: 'pusher:ping', data: {} });
          await pong;
        }
        this.closing(session);
        await peer.close();
      } catch (err) {
        this.tracker.error(`churner ${index}: ${(err as Error).message}`);
        if (session && !session.closing) this.closing(session);
        await session?.peer.close();
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Sends a client event followed by a ping whose pong confirms it was handled. */
  sendClientEvent(session: Session, channel: string, key: string, data: unknown): void {
    session.unconfirmed.push(key);
    session.peer.send({ event: 'client-soak', channel, data });
    session.peer.send({ event: 'pusher:ping', data: {} });
  }

  /** Stops reconnecting and closes everything. */
  async closeAll(): Promise<void> {
    this.running = false;
    await Promise.all([...this.sessions.values()].map(async (s) => {
      if (!s.closing) this.closing(s);
      await s.peer.close();
    }));
  }
}
