/**
 * NATS broker: one subject per Pusher channel (per-channel interest: a node only receives the
 * channels it has subscribers on) plus one node-wide bus subject for app-wide messages.
 * Subjects: `<prefix>.c.<app>.<channel>` and `<prefix>.bus`, with app ids and channel names
 * escaped so that '.', '*', '>' and spaces can never form extra subject tokens or wildcards.
 */
import type { Subscription } from 'nats';
import type { Logger } from '../platform/logger.js';
import { isChannelControl, type Broker, type ChannelEvent, type Control, type ControlMessage } from './broker.js';
import { TopicInterest } from './interest.js';
import type { NatsLink } from './nats-link.js';
import { decodeBrokerMessage, encodeWireControl, encodeWireEvent } from './wire.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One subject token: percent-encoding, plus the characters NATS treats specially. */
export function subjectToken(value: string): string {
  return encodeURIComponent(value).replace(/[.*!~'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export class NatsBroker implements Broker {
  readonly name = 'nats';
  private eventHandler: (event: ChannelEvent) => void = () => undefined;
  private controlHandler: (message: ControlMessage) => void = () => undefined;
  /** Control messages: channel ones on the channel's subject (only subscribed nodes get them), the rest on the bus. */
  readonly control: Control = {
    send: (message) => this.send(isChannelControl(message) ? this.channelSubject(message.appId, message.channel) : this.busSubject, encodeWireControl(message)),
    onMessage: (handler) => {
      this.controlHandler = handler;
    },
  };
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly interest: TopicInterest;
  private readonly busSubject: string;

  constructor(
    private readonly link: NatsLink,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    this.busSubject = `${prefix}.bus`;
    this.interest = new TopicInterest(
      async (subject) => {
        this.subscribeSubject(subject);
        // The server knows about the subscription once a round trip has passed.
        await this.link.nc.flush();
      },
      async (subject) => {
        this.subscriptions.get(subject)?.unsubscribe();
        this.subscriptions.delete(subject);
      },
      (err, subject) => this.logger.warn({ err, subject }, 'nats unsubscribe failed'),
    );
  }

  channelSubject(appId: string, channel: string): string {
    return `${this.prefix}.c.${subjectToken(appId)}.${subjectToken(channel)}`;
  }

  async start(): Promise<void> {
    await this.link.start();
    this.subscribeSubject(this.busSubject);
    await this.link.nc.flush();
  }

  async stop(): Promise<void> {
    this.interest.clear();
    this.subscriptions.clear();
    await this.link.stop();
  }

  healthy(): boolean {
    return this.link.healthy();
  }

  onEvent(handler: (event: ChannelEvent) => void): void {
    this.eventHandler = handler;
  }

  publish(event: ChannelEvent): Promise<void> | void {
    return this.send(this.channelSubject(event.appId, event.channel), encodeWireEvent(event));
  }

  private send(subject: string, payload: string): Promise<void> | void {
    try {
      // While reconnecting the client buffers publishes (bounded) and sends them afterwards.
      this.link.nc.publish(subject, encoder.encode(payload));
    } catch (err) {
      this.logger.warn({ err }, 'nats publish failed');
      return;
    }
    return this.acknowledged();
  }

  private flushing: Promise<void> | undefined;
  private queuedFlush: Promise<void> | undefined;

  /**
   * Resolves once the server has everything published so far (a PING/PONG round trip). Publishes
   * made while a flush is under way share the next one, so there are at most two in flight.
   */
  private acknowledged(): Promise<void> {
    if (!this.link.healthy()) return Promise.resolve();
    if (!this.flushing) return this.startFlush();
    this.queuedFlush ??= this.flushing.then(() => {
      this.queuedFlush = undefined;
      // The link may have stopped meanwhile (a message sent just before shutdown): nothing to flush.
      return this.link.healthy() ? this.startFlush() : undefined;
    });
    return this.queuedFlush;
  }

  private startFlush(): Promise<void> {
    const flushing: Promise<void> = this.link.nc
      .flush()
      .catch((err: unknown) => this.logger.warn({ err }, 'nats flush failed'))
      .finally(() => {
        if (this.flushing === flushing) this.flushing = undefined;
      });
    this.flushing = flushing;
    return flushing;
  }

  subscribe(appId: string, channel: string): Promise<void> {
    return this.interest.listen(this.channelSubject(appId, channel));
  }

  unsubscribe(appId: string, channel: string): void {
    this.interest.unlisten(this.channelSubject(appId, channel));
  }

  private subscribeSubject(subject: string): void {
    if (this.subscriptions.has(subject)) return;
    const sub = this.link.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return this.logger.warn({ err, subject }, 'nats subscription error');
        const message = decodeBrokerMessage(decoder.decode(msg.data));
        if (!message) return;
        try {
          if (message.type === 'event') this.eventHandler(message);
          else this.controlHandler(message);
        } catch (error) {
          this.logger.error({ err: error }, 'broker message handler failed');
        }
      },
    });
    this.subscriptions.set(subject, sub);
  }
}
