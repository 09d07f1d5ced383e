/**
 * Redis broker: one pub/sub channel per Pusher channel (per-channel interest: a node only
 * receives the channels it has subscribers on) plus one node-wide bus for app-wide messages
 * (terminate connections, watchlist online/offline). On Redis 7+ it uses sharded pub/sub
 * (SSUBSCRIBE/SPUBLISH), each Pusher channel hash-tagged on its own so channels spread over a
 * Redis Cluster's shards; older servers get SUBSCRIBE/PUBLISH.
 */
import type { Logger } from '../server/logger.js';
import { isChannelControl, type Broker, type ChannelEvent, type Control, type ControlMessage } from './broker.js';
import { TopicInterest } from './interest.js';
import type { RedisLink } from './redis-link.js';
import { decodeBrokerMessage, encodeWireControl, encodeWireEvent } from './wire.js';

export class RedisBroker implements Broker {
  readonly name = 'redis';
  private eventHandler: (event: ChannelEvent) => void = () => undefined;
  private controlHandler: (message: ControlMessage) => void = () => undefined;
  /** Control messages: channel ones on the channel's topic (only subscribed nodes get them), the rest on the bus. */
  readonly control: Control = {
    send: (message) => this.send(isChannelControl(message) ? this.channelTopic(message.appId, message.channel) : this.busTopic, encodeWireControl(message)),
    onMessage: (handler) => {
      this.controlHandler = handler;
    },
  };
  private readonly interest: TopicInterest;
  private readonly busTopic: string;
  private dropped = 0;
  /** Publishes not yet acknowledged by Redis: stop() lets them finish before quitting. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly link: RedisLink,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    this.busTopic = `${prefix}:{${prefix}}:bus`;
    this.interest = new TopicInterest(
      (topic) => this.subscribeTopic(topic),
      (topic) => this.unsubscribeTopic(topic),
      (err, topic) => this.logger.warn({ err, topic }, 'redis unsubscribe failed'),
    );
  }

  /** The pub/sub channel of one Pusher channel: its own hash tag, so it has its own cluster slot. */
  channelTopic(appId: string, channel: string): string {
    return `${this.prefix}:{${this.prefix}:${appId}:${channel}}`;
  }

  async start(): Promise<void> {
    await this.link.start();
    const onMessage = (_topic: string | Buffer, payload: string) => this.receive(payload);
    this.link.subscriber.on('message', onMessage);
    this.link.subscriber.on('smessage', onMessage);
    await this.subscribeTopic(this.busTopic);
  }

  async stop(): Promise<void> {
    this.interest.clear();
    await Promise.allSettled([...this.inFlight]);
    await this.link.stop();
  }

  healthy(): boolean {
    return this.link.healthy();
  }

  onEvent(handler: (event: ChannelEvent) => void): void {
    this.eventHandler = handler;
  }

  publish(event: ChannelEvent): Promise<void> | void {
    return this.send(this.channelTopic(event.appId, event.channel), encodeWireEvent(event));
  }

  private send(topic: string, payload: string): Promise<void> | void {
    if (!this.link.healthy()) {
      // Pub/sub is fire-and-forget: queueing publishes while Redis is away would only grow
      // memory and deliver stale events later. Count and say so instead.
      if (this.dropped++ % 1000 === 0) this.logger.warn({ dropped: this.dropped }, 'Redis is down: cross-node message dropped');
      return;
    }
    const sent = this.link.sharded && topic !== this.busTopic ? this.link.commands.spublish(topic, payload) : this.link.commands.publish(topic, payload);
    const done = sent.then(
      () => undefined,
      (err: unknown) => this.logger.warn({ err }, 'redis publish failed'),
    );
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
    return done;
  }

  subscribe(appId: string, channel: string): Promise<void> {
    return this.interest.listen(this.channelTopic(appId, channel));
  }

  unsubscribe(appId: string, channel: string): void {
    this.interest.unlisten(this.channelTopic(appId, channel));
  }

  private receive(payload: string): void {
    const message = decodeBrokerMessage(payload);
    if (!message) return;
    try {
      if (message.type === 'event') this.eventHandler(message);
      else this.controlHandler(message);
    } catch (err) {
      this.logger.error({ err }, 'broker message handler failed');
    }
  }

  private async subscribeTopic(topic: string): Promise<void> {
    if (this.link.sharded && topic !== this.busTopic) await this.link.subscriber.ssubscribe(topic);
    else await this.link.subscriber.subscribe(topic);
  }

  private async unsubscribeTopic(topic: string): Promise<void> {
    if (this.link.sharded) await this.link.subscriber.sunsubscribe(topic);
    else await this.link.subscriber.unsubscribe(topic);
  }
}
