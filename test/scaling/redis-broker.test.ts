/**
 * RedisBroker's acknowledgement rules without a Redis: a stand-in link whose PUBLISH replies the
 * test controls, and whose connection the test drops. docs/scaling.md: a publish resolves only once
 * Redis took it with this node's subscriptions in place.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { RedisBroker } from '../../src/scaling/redis-broker.js';
import type { RedisLink } from '../../src/scaling/redis-link.js';
import type { ChannelEvent } from '../../src/scaling/broker.js';
import { createLogger } from '../../src/platform/logger.js';

/** PUBLISH replies wait in `pending` until the test answers them; health changes go to the broker. */
class StandInLink {
  sharded = false;
  up = true;
  readonly pending: Array<{ resolve: (n: number) => void; reject: (err: Error) => void }> = [];
  private readonly listeners = new Set<(up: boolean) => void>();
  readonly subscriber = Object.assign(new EventEmitter(), {
    subscribe: async () => 1,
    unsubscribe: async () => 0,
  });
  readonly commands = {
    publish: () => new Promise<number>((resolve, reject) => this.pending.push({ resolve, reject })),
  };
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  healthy(): boolean {
    return this.up;
  }
  onHealthChange(listener: (up: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  setUp(up: boolean): void {
    this.up = up;
    for (const l of this.listeners) l(up);
  }
}

const event: ChannelEvent = { appId: 'a', channel: 'c', eventName: 'e', data: '{}', source: 'api' };

async function brokerOn(link: StandInLink): Promise<RedisBroker> {
  const broker = new RedisBroker(link as unknown as RedisLink, 'unit', createLogger('silent', false));
  await broker.start();
  return broker;
}

test('a publish in flight when the connection drops is refused at once, not after the publish timeout', async () => {
  const link = new StandInLink();
  const broker = await brokerOn(link);
  const inFlight = broker.publish(event);
  assert.ok(inFlight instanceof Promise);
  assert.equal(link.pending.length, 1);
  let settled = 'pending';
  inFlight.then(() => (settled = 'resolved'), () => (settled = 'rejected'));
  link.setUp(false);
  // ioredis keeps the command for the reconnect and never settles it here: only the drop can refuse
  // it, and it does so within the turn (the 5 s publish timeout must not be what ends it).
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, 'rejected');
  await assert.rejects(inFlight, (err: Error & { kind?: string }) => /unavailable/i.test(err.message) || err.kind === 'unavailable');
  // Its late reply (sent again after the reconnect) changes nothing.
  link.pending[0]!.resolve(1);
  await broker.stop();
});

test('a publish answered on the same connection resolves; one made while down is refused without being sent', async () => {
  const link = new StandInLink();
  const broker = await brokerOn(link);
  const accepted = broker.publish(event);
  link.pending[0]!.resolve(1);
  await accepted;
  link.setUp(false);
  await assert.rejects(Promise.resolve(broker.publish(event)));
  assert.equal(link.pending.length, 1, 'nothing sent while Redis is down');
  await broker.stop();
});

test('after a reconnect, publishes in flight on the new connection are not refused by the old drop', async () => {
  const link = new StandInLink();
  const broker = await brokerOn(link);
  link.setUp(false);
  link.setUp(true);
  // Re-subscribing finishes on the next turns; then publishes are accepted again.
  while (!broker.healthy()) await new Promise((r) => setImmediate(r));
  const published = broker.publish(event);
  link.pending.at(-1)!.resolve(1);
  await published;
  await broker.stop();
});
