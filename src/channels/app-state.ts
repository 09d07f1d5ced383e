/** Everything the engine holds for one app on this node. */
import type { App } from '../apps/app.js';
import { channelType } from '../protocol/names.js';
import { Channel, type CachedEvent } from './channel.js';
import type { Connection } from './connection.js';

export class AppState {
  readonly connections = new Map<string, Connection>();
  readonly channels = new Map<string, Channel>();
  /** Signed-in connections by user id. */
  readonly users = new Map<string, Set<Connection>>();
  /** user id → ids of signed-in users whose watchlist contains it. */
  readonly watchers = new Map<string, Set<string>>();
  /** Last event of cache channels, kept even while nobody is subscribed. */
  readonly cache = new Map<string, CachedEvent>();

  constructor(public app: App) {}

  channel(name: string): Channel | undefined {
    return this.channels.get(name);
  }

  getOrCreateChannel(name: string): Channel {
    let channel = this.channels.get(name);
    if (!channel) {
      channel = new Channel(name, channelType(name));
      this.channels.set(name, channel);
    }
    return channel;
  }

  cachedEvent(channel: string, now: number): CachedEvent | undefined {
    const entry = this.cache.get(channel);
    if (entry && entry.expiresAt <= now) {
      this.cache.delete(channel);
      return undefined;
    }
    return entry;
  }

  pruneCache(now: number): void {
    for (const [name, entry] of this.cache) if (entry.expiresAt <= now) this.cache.delete(name);
  }
}
