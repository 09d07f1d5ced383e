/** Socket-free engine harness: a fake transport that records frames, an engine on a manual clock. */
import assert from 'node:assert/strict';
import { parseApp, type AppInput } from '../../src/apps/app.js';
import { MemoryAppRegistry } from '../../src/apps/registry.js';
import type { Connection } from '../../src/channels/connection.js';
import { ChannelsEngine } from '../../src/channels/engine.js';
import type { ConnectionTransport, OutboundMessage } from '../../src/channels/transport.js';
import { ManualClock } from '../../src/scaling/clock.js';
import { hmacSha256Hex } from '../../src/protocol/signatures.js';
import type { Scaling } from '../../src/scaling/scaling.js';
import type { ChannelEvent, Control, ControlMessage } from '../../src/scaling/broker.js';
import { MemoryBroker } from '../../src/scaling/memory-broker.js';
import { memoryClusterState } from '../../src/scaling/memory-cluster-state.js';

export class FakeTransport implements ConnectionTransport {
  sent: OutboundMessage[] = [];
  closedWith: [number, string] | undefined;
  deliver(message: OutboundMessage) {
    this.sent.push(message);
  }
  closeWith(code: number, reason: string) {
    this.closedWith = [code, reason];
  }
  frames(): Array<{ event: string; channel?: string; data?: string }> {
    return this.sent.map((m) => JSON.parse(m.text));
  }
  /** The event names of every frame sent, in order. */
  events(): string[] {
    return this.frames().map((f) => f.event);
  }
  /** Data of every frame named `event` (parsed when it is JSON). */
  data(event: string): unknown[] {
    return this.frames()
      .filter((f) => f.event === event)
      .map((f) => (typeof f.data === 'string' ? JSON.parse(f.data) : f.data));
  }
}

export const SECRET = 'secret-123';

/** Records the engine's observer calls as short strings ("occupied news", "added ann"), in order. */
export function observed(engine: ChannelsEngine): string[] {
  const seen: string[] = [];
  engine.observe({
    channelOccupied: (_app, channel) => seen.push(`occupied ${channel}`),
    channelVacated: (_app, channel) => seen.push(`vacated ${channel}`),
    subscribed: (_app, channel, socketId) => seen.push(`subscribed ${channel} ${socketId}`),
    unsubscribed: (_app, channel, socketId) => seen.push(`unsubscribed ${channel} ${socketId}`),
    memberAdded: (_app, channel, userId) => seen.push(`added ${userId} ${channel}`),
    memberRemoved: (_app, channel, userId) => seen.push(`removed ${userId} ${channel}`),
    cacheMiss: (_app, channel) => seen.push(`cache_miss ${channel}`),
    clientEvent: (_app, channel, event, _data, socketId, userId) => seen.push(`client ${event} ${channel} ${socketId}${userId === undefined ? '' : ` ${userId}`}`),
    subscriptionCount: (_app, channel, count) => seen.push(`count ${channel} ${count}`),
    signedIn: (_app, socketId, userId) => seen.push(`signed in ${userId} ${socketId}`),
  });
  return seen;
}

export function harness(appInput: Partial<AppInput> = {}, options: { scaling?: (clock: ManualClock) => Scaling; clock?: ManualClock } = {}) {
  const app = parseApp({ id: '1', key: 'k', secret: SECRET, ...appInput } as AppInput);
  const clock = options.clock ?? new ManualClock();
  const engine = new ChannelsEngine({ apps: new MemoryAppRegistry([app]), clock, scaling: options.scaling?.(clock), activityTimeout: 120, pongTimeout: 30 });
  const open = () => {
    const transport = new FakeTransport();
    const result = engine.connect({ appKey: 'k', protocol: '7', version: '8.6.0' }, transport);
    assert.ok(result.ok);
    return { conn: result.connection, transport };
  };
  return { engine, clock, app, open };
}

export function subscribeFrame(conn: Connection, channel: string, member?: { user_id: string | number; user_info?: unknown }): string {
  if (channel.startsWith('presence-')) {
    const channelData = JSON.stringify(member);
    const auth = `k:${hmacSha256Hex(SECRET, `${conn.socketId}:${channel}:${channelData}`)}`;
    return JSON.stringify({ event: 'pusher:subscribe', data: { channel, auth, channel_data: channelData } });
  }
  if (channel.startsWith('private-')) {
    const auth = `k:${hmacSha256Hex(SECRET, `${conn.socketId}:${channel}`)}`;
    return JSON.stringify({ event: 'pusher:subscribe', data: { channel, auth } });
  }
  return JSON.stringify({ event: 'pusher:subscribe', data: { channel } });
}

export function signInFrame(conn: Connection, user: { id: string; watchlist?: string[] }): string {
  const userData = JSON.stringify(user);
  const auth = `k:${hmacSha256Hex(SECRET, `${conn.socketId}::user::${userData}`)}`;
  return JSON.stringify({ event: 'pusher:signin', data: { auth, user_data: userData } });
}

/**
 * Networked backends without a network: wraps the memory backends so that every membership,
 * user-presence, cache and broker-subscribe call takes effect at once (the server applied it)
 * but answers with a promise settled only when the test calls `step()` or `flush()` (the answer
 * is on its way). Drives the engine's asynchronous path deterministically.
 */
export class DeferredBackends {
  private readonly queue: Array<() => void> = [];

  wrap(inner: Scaling): Scaling {
    return {
      ...inner,
      broker: Object.assign(Object.create(inner.broker) as Scaling['broker'], { subscribe: this.later(inner.broker, 'subscribe') }),
      membership: this.wrapAll(inner.membership),
      users: this.wrapAll(inner.users),
      cache: this.wrapAll(inner.cache),
    };
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Settles the oldest unanswered call and lets its continuation run. */
  async step(): Promise<void> {
    this.queue.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** Settles every call made so far and those they lead to, in order. */
  async flush(): Promise<void> {
    do {
      while (this.queue.length) this.queue.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    } while (this.queue.length);
  }

  private wrapAll<T extends object>(inner: T): T {
    const out = {} as Record<string, unknown>;
    let proto: object | null = inner;
    while (proto && proto !== Object.prototype) {
      for (const name of Object.getOwnPropertyNames(proto)) {
        if (name !== 'constructor' && typeof (inner as Record<string, unknown>)[name] === 'function' && !(name in out)) out[name] = this.later(inner, name);
      }
      proto = Object.getPrototypeOf(proto) as object | null;
    }
    return out as T;
  }

  private later(target: object, name: string) {
    const fn = (target as Record<string, (...args: unknown[]) => unknown>)[name]!;
    return (...args: unknown[]) =>
      new Promise((resolve, reject) => {
        try {
          const result = fn.apply(target, args);
          this.queue.push(() => resolve(result));
        } catch (err) {
          this.queue.push(() => reject(err));
        }
      });
  }
}

/**
 * Several engines ("nodes") in one process over one shared in-memory state, with an in-process
 * bus that hands every event and control message to every node (a node delivers only to its
 * own subscribers). Exercises the multi-node behaviour of the engine without sockets or servers.
 */
export function sharedNodes(count: number, appInput: Partial<AppInput> = {}) {
  const clock = new ManualClock();
  const state = memoryClusterState(clock);
  const eventHandlers: Array<(event: ChannelEvent) => void> = [];
  const controlHandlers: Array<(message: ControlMessage) => void> = [];
  const nodes = Array.from({ length: count }, () => {
    const broker = new MemoryBroker();
    broker.publish = (event) => {
      for (const handler of eventHandlers) handler(event);
    };
    broker.onEvent = (handler) => void eventHandlers.push(handler);
    const control: Control = {
      send: (message) => {
        for (const handler of controlHandlers) handler(message);
      },
      onMessage: (handler) => void controlHandlers.push(handler),
    };
    return harness(appInput, { scaling: () => ({ broker, control, ...state }), clock });
  });
  return { clock, state, nodes };
}
