/**
 * Redis broker: one pub/sub channel per Pusher channel (per-channel interest: a node only
 * receives the channels it has subscribers on) plus one node-wide bus for app-wide messages
 * (terminate connections, watchlist online/offline). On Redis 7+ it uses sharded pub/sub
 * (SSUBSCRIBE/SPUBLISH), each Pusher channel hash-tagged on its own so channels spread over a
 * Redis Cluster's shards; older servers get SUBSCRIBE/PUBLISH.
 *
 * Nothing accepted is lost across a Redis restart: a publish resolves only once Redis took it while
 * this node's subscriptions were in place, and rejects (DomainError `unavailable`) otherwise — Redis down or this
 * node still re-subscribing after a reconnect, the connection lost before Redis answered (ioredis
 * would send it again after the reconnect, possibly before anyone is subscribed again), or no
 * answer within PUBLISH_TIMEOUT_MS. Pub/sub keeps nothing, so "accepted" must mean "in place".
 */
import type { Logger } from '../platform/logger.js';
import { unavailable, type DomainError } from '../platform/errors.js';
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
  /** Topics subscribed on the subscriber connection, re-subscribed after a reconnect. */
  private readonly subscribed = new Set<string>();
  /** Counts connection losses: a publish whose reply comes from another epoch was not in place. */
  private epoch = 0;
  /**
   * Rejects when this epoch's connection drops, so publishes in flight are refused at once rather
   * than after PUBLISH_TIMEOUT_MS (ioredis would hold them for the reconnect).
   */
  private connectionLost = lossSignal();
  /** Re-subscribing after a reconnect: publishes are refused until it is done. */
  private restoring: Promise<void> | undefined;
  private detachHealth: (() => void) | undefined;

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
    this.detachHealth = this.link.onHealthChange((up) => {
      if (!up) {
        this.epoch++;
        this.connectionLost.fire();
        this.connectionLost = lossSignal();
      } else this.restoring = this.resubscribe().finally(() => (this.restoring = undefined));
    });
  }

  /** SUBSCRIBE is answered in order on one connection: once these replies are in, messages flow. */
  private async resubscribe(): Promise<void> {
    try {
      await Promise.all([...this.subscribed].map((topic) => this.subscribeTopic(topic)));
      this.logger.info({ topics: this.subscribed.size }, 'Redis subscriptions restored; publishes accepted again');
    } catch (err) {
      // The connection dropped again: the next reconnect restores them.
      this.logger.warn({ err: (err as Error).message }, 'restoring Redis subscriptions failed');
    }
  }

  async stop(): Promise<void> {
    this.detachHealth?.();
    this.interest.clear();
    await Promise.allSettled([...this.inFlight]);
    await this.link.stop();
  }

  healthy(): boolean {
    return this.link.healthy() && !this.restoring;
  }

  onEvent(handler: (event: ChannelEvent) => void): void {
    this.eventHandler = handler;
  }

  /** A channel event: acknowledged only when Redis took it with this node's subscriptions in place. */
  publish(event: ChannelEvent): Promise<void> | void {
    if (!this.healthy()) {
      if (this.dropped++ % 1000 === 0) this.logger.warn({ dropped: this.dropped }, 'Redis is down: publish refused');
      return settledQuietly(Promise.reject(brokerUnavailable()));
    }
    const payload = encodeWireEvent(event);
    const topic = this.channelTopic(event.appId, event.channel);
    const epoch = this.epoch;
    const sent = this.link.sharded && topic !== this.busTopic ? this.link.commands.spublish(topic, payload) : this.link.commands.publish(topic, payload);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${PUBLISH_TIMEOUT_MS} ms`)), PUBLISH_TIMEOUT_MS);
    });
    const done = Promise.race([sent, timeout, this.connectionLost.lost]).then(
      () => {
        clearTimeout(timer);
        if (this.epoch !== epoch) throw brokerUnavailable();
      },
      (err: unknown) => {
        clearTimeout(timer);
        this.logger.warn({ err: (err as Error).message }, 'redis publish failed: refused');
        throw brokerUnavailable();
      },
    );
    const tracked = done.catch(() => undefined);
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
    return settledQuietly(done);
  }

  /** Control messages are best effort (the Control contract: never rejects); a lost one is logged. */
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
    this.subscribed.add(topic);
    if (this.link.sharded && topic !== this.busTopic) await this.link.subscriber.ssubscribe(topic);
    else await this.link.subscriber.subscribe(topic);
  }

  private async unsubscribeTopic(topic: string): Promise<void> {
    this.subscribed.delete(topic);
    if (this.link.sharded) await this.link.subscriber.sunsubscribe(topic);
    else await this.link.subscriber.unsubscribe(topic);
  }
}

/** One connection's loss, as a promise that rejects when it happens (and never resolves). */
function lossSignal(): { lost: Promise<never>; fire: () => void } {
  let fire: () => void = () => undefined;
  const lost = new Promise<never>((_, reject) => {
    fire = () => reject(new Error('connection to Redis lost before it answered'));
  });
  lost.catch(() => undefined);
  return { lost, fire };
}

/** Longest wait for Redis to acknowledge a publish before it is refused. */
const PUBLISH_TIMEOUT_MS = 5000;

function brokerUnavailable(): DomainError {
  return unavailable('Broker redis unavailable (cluster messages and state), retry shortly');
}

/**
 * Callers that publish without waiting (client events, cluster messages) must not turn a refusal
 * into an unhandled rejection; callers that wait (the HTTP API) still see it.
 */
function settledQuietly(promise: Promise<void>): Promise<void> {
  promise.catch(() => undefined);
  return promise;
}
