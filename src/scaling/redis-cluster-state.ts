/**
 * Cluster state in Redis: atomic Lua scripts (redis-scripts.ts) decide first/last exactly once.
 * Registrations, heartbeats (a sorted set of expiries, Redis clock) and reaping follow the shared
 * node lifecycle (node-lifecycle.ts); this file supplies its Redis primitives.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../platform/logger.js';
import type {
  CachedEventAnswer,
  ChannelSummary,
  ClusterChanges,
  ChannelCache,
  ClusterNode,
  Membership,
  UserPresence,
  JoinRequest,
  JoinResult,
  LeaveResult,
  MemberInput,
  OfflineResult,
  OnlineResult,
} from './cluster-state.js';
import { systemClock, type Clock } from './clock.js';
import { NodeLifecycle, type RegistryStore } from './node-lifecycle.js';
import type { RedisLink } from './redis-link.js';
import * as scripts from './redis-scripts.js';

export interface RedisClusterStateOptions {
  link: RedisLink;
  prefix: string;
  logger: Logger;
  /** A node silent for this long is reaped (default 15 s; members are gone within ~1.3× that). */
  nodeTimeoutMs: number;
  clock?: Clock;
}

type Reply = unknown[];
type ScriptRunner = (key: string, ...args: Array<string | number>) => Promise<unknown>;

const SCRIPTS = {
  heraldRegister: scripts.REGISTER,
  heraldHeartbeat: scripts.HEARTBEAT,
  heraldJoin: scripts.JOIN,
  heraldLeave: scripts.LEAVE,
  heraldOnline: scripts.ONLINE,
  heraldOffline: scripts.OFFLINE,
  heraldExpired: scripts.EXPIRED,
  heraldReap: scripts.REAP,
} as const;

export class RedisClusterState implements Membership, UserPresence, ChannelCache, ClusterNode {
  readonly name = 'redis';
  private readonly redis: Redis;
  private readonly lifecycle: NodeLifecycle;
  private readonly appsKey: string;

  constructor(private readonly options: RedisClusterStateOptions) {
    this.redis = options.link.commands;
    this.appsKey = `${options.prefix}:{${options.prefix}}:apps`;
    for (const [name, lua] of Object.entries(SCRIPTS)) this.redis.defineCommand(name, { numberOfKeys: 1, lua });
    this.lifecycle = new NodeLifecycle({
      store: this.registry(),
      logger: options.logger,
      clock: options.clock ?? systemClock,
      nodeTimeoutMs: options.nodeTimeoutMs,
      linkHealthy: () => options.link.healthy(),
    });
    options.link.onHealthChange((up) => {
      if (up) this.lifecycle.linkUp();
    });
  }

  get nodeId(): string {
    return this.lifecycle.nodeId;
  }

  async start(): Promise<void> {
    this.lifecycle.start();
  }

  stop(): Promise<void> {
    return this.lifecycle.stop();
  }

  healthy(): boolean {
    return this.options.link.healthy();
  }

  onReaped(handler: (appId: string, changes: ClusterChanges) => void): void {
    this.lifecycle.onReaped(handler);
  }

  onEvicted(handler: (appId: string) => void): void {
    this.lifecycle.onEvicted(handler);
  }

  async join(request: JoinRequest): Promise<JoinResult> {
    if (this.lifecycle.stopped) return { ok: false, reason: 'stopped' };
    const token = await this.lifecycle.token(request.appId);
    const member = request.member;
    const reply = (await this.run('heraldJoin')(
      this.appKey(request.appId),
      token,
      request.channel,
      member?.userId ?? '',
      member ? JSON.stringify([member.rawUserId, member.userInfo ?? null]) : '',
      request.maxMembers,
    )) as Reply;
    const status = reply[0] as number;
    if (status === -1) return { ok: false, reason: this.lifecycle.evicted(request.appId, token) };
    if (status === -2) return { ok: false, reason: 'full' };
    const [count, revision, added, roster] = reply as [number, number, number, string[] | null];
    return {
      ok: true,
      token,
      occupied: count === 1,
      subscriptionCount: count,
      revision,
      memberAdded: added === 1,
      roster: roster ? parseRoster(roster) : undefined,
    };
  }

  async leave(appId: string, channel: string, token: string, userId?: string): Promise<LeaveResult> {
    const none: LeaveResult = { ok: false, vacated: false, subscriptionCount: 0, revision: 0 };
    if (this.lifecycle.stopped || !this.lifecycle.isCurrent(appId, token)) return none;
    const reply = (await this.run('heraldLeave')(this.appKey(appId), token, channel, userId ?? '')) as Reply;
    if (reply[0] === -1) this.lifecycle.evicted(appId, token);
    if ((reply[0] as number) < 0) return none;
    const [count, revision, removed] = reply as [number, number, string | null];
    const result: LeaveResult = { ok: true, vacated: count === 0, subscriptionCount: count, revision };
    if (removed !== null && userId !== undefined) result.memberRemoved = { userId, rawUserId: parseMember(userId, removed).rawUserId };
    return result;
  }

  async userOnline(appId: string, userId: string, watchlist: string[]): Promise<OnlineResult> {
    const none = { ok: false, token: '', cameOnline: false, revision: 0, online: [], snapshotRevision: 0 };
    if (this.lifecycle.stopped) return none;
    const token = await this.lifecycle.token(appId);
    const reply = (await this.run('heraldOnline')(this.appKey(appId), token, userId, ...watchlist)) as Reply;
    if (reply[0] === -1) {
      this.lifecycle.evicted(appId, token);
      return none;
    }
    const [first, revision, flags] = reply as [number, number, number[]];
    return { ok: true, token, cameOnline: first === 1, revision, online: watchlist.filter((_, i) => flags[i] === 1), snapshotRevision: revision };
  }

  async userOffline(appId: string, userId: string, token: string): Promise<OfflineResult> {
    const none: OfflineResult = { ok: false, wentOffline: false, revision: 0 };
    if (this.lifecycle.stopped || !this.lifecycle.isCurrent(appId, token)) return none;
    const reply = (await this.run('heraldOffline')(this.appKey(appId), token, userId)) as Reply;
    if (reply[0] === -1) this.lifecycle.evicted(appId, token);
    if ((reply[0] as number) < 0) return none;
    return { ok: true, wentOffline: reply[0] === 1, revision: reply[1] as number };
  }

  async subscriptionCount(appId: string, channel: string): Promise<number> {
    return Number((await this.redis.hget(this.appKey(appId) + 'subs', channel)) ?? 0);
  }

  async userCount(appId: string, channel: string): Promise<number> {
    return this.redis.hlen(this.appKey(appId) + 'pm:' + channel);
  }

  async channels(appId: string, prefix?: string): Promise<ChannelSummary[]> {
    const all = await this.redis.hgetall(this.appKey(appId) + 'subs');
    const out: ChannelSummary[] = [];
    for (const [name, count] of Object.entries(all)) {
      if (name.startsWith('#') || (prefix && !name.startsWith(prefix)) || Number(count) <= 0) continue;
      out.push({ name, subscriptionCount: Number(count) });
    }
    // One round trip for all presence user counts (auto-pipelined), not one per channel.
    await Promise.all(
      out.filter((c) => c.name.startsWith('presence-')).map(async (c) => {
        c.userCount = await this.userCount(appId, c.name);
      }),
    );
    return out;
  }

  async members(appId: string, channel: string): Promise<MemberInput[]> {
    const hash = await this.redis.hgetall(this.appKey(appId) + 'pi:' + channel);
    return Object.entries(hash).map(([userId, json]) => parseMember(userId, json));
  }

  async setCache(appId: string, channel: string, event: string, data: string, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.appKey(appId) + 'cache:' + channel, JSON.stringify([event, data, (this.options.clock ?? systemClock).now()]), 'PX', ttlSeconds * 1000);
  }

  async getCache(appId: string, channel: string): Promise<CachedEventAnswer | undefined> {
    const key = this.appKey(appId) + 'cache:' + channel;
    const [value, pttl] = await Promise.all([this.redis.get(key), this.redis.pttl(key)]);
    const parsed = value ? parseCache(value) : undefined;
    return parsed && pttl > 0 ? { ...parsed, ttl: Math.ceil(pttl / 1000) } : undefined;
  }

  // ---- registration, heartbeats, reaping -------------------------------------------------

  /** `prefix:{prefix:appId}:` — one hash tag per app. */
  private appKey(appId: string): string {
    return `${this.options.prefix}:{${this.options.prefix}:${appId}}:`;
  }

  private run(name: keyof typeof SCRIPTS): ScriptRunner {
    const fn = (this.redis as unknown as Record<string, ScriptRunner>)[name]!;
    return fn.bind(this.redis);
  }

  /** The shared lifecycle's primitives, in Redis. */
  private registry(): RegistryStore {
    const timeoutMs = this.options.nodeTimeoutMs;
    return {
      register: async (appId, token) => {
        await this.redis.sadd(this.appsKey, appId);
        await this.run('heraldRegister')(this.appKey(appId), token, timeoutMs);
      },
      heartbeat: async (appId, token) => {
        // Re-adding the app to the set heals a concurrent cleanup by a reaper.
        const [alive] = await Promise.all([this.run('heraldHeartbeat')(this.appKey(appId), token, timeoutMs), this.redis.sadd(this.appsKey, appId)]);
        return alive !== 0;
      },
      expired: async (ownApps) => {
        const out: Array<{ appId: string; token: string }> = [];
        for (const appId of await this.redis.smembers(this.appsKey)) {
          const key = this.appKey(appId);
          const tokens = (await this.run('heraldExpired')(key)) as string[];
          for (const token of tokens) out.push({ appId, token });
          if (tokens.length === 0 && !ownApps.has(appId) && (await this.redis.zcard(key + 'nodes')) === 0) await this.redis.srem(this.appsKey, appId);
        }
        return out;
      },
      remove: async (appId, token, self) => {
        const reply = (await this.run('heraldReap')(this.appKey(appId), token, self ? '1' : '0')) as Reply | null;
        return reply ? parseChanges(reply) : undefined;
      },
    };
  }
}

function parseMember(userId: string, json: string): MemberInput {
  try {
    const [rawUserId, userInfo] = JSON.parse(json) as [string | number | undefined, unknown];
    return { userId, rawUserId: rawUserId ?? userId, userInfo: userInfo ?? undefined };
  } catch {
    return { userId, rawUserId: userId, userInfo: undefined };
  }
}

function parseRoster(flat: string[]): MemberInput[] {
  const out: MemberInput[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push(parseMember(flat[i]!, flat[i + 1]!));
  return out;
}

function parseCache(json: string): { event: string; data: string; publishedAt?: number } | undefined {
  try {
    const [event, data, publishedAt] = JSON.parse(json) as [unknown, unknown, unknown];
    if (typeof event !== 'string' || typeof data !== 'string') return undefined;
    return typeof publishedAt === 'number' ? { event, data, publishedAt } : { event, data };
  } catch {
    return undefined;
  }
}

function parseChanges(reply: Reply): ClusterChanges {
  const [channels, members, users] = reply as [Array<[string, number, number]>, Array<[string, string, string, number]>, Array<[string, number]>];
  return {
    channels: channels.map(([channel, subscriptionCount, revision]) => ({ channel, subscriptionCount, revision })),
    members: members.map(([channel, userId, json, revision]) => ({ channel, userId, rawUserId: parseMember(userId, json).rawUserId, revision })),
    usersOffline: users.map(([userId, revision]) => ({ userId, revision })),
  };
}
