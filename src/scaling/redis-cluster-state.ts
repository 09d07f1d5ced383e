/**
 * Cluster state in Redis: atomic Lua scripts (redis-scripts.ts), per-node heartbeats with an
 * expiry, and a reaper on every node that removes a dead node's contributions exactly once.
 *
 * A node registers per app under a token `<node id>.<epoch>`. If it finds that it was reaped
 * while still running (cut off from Redis longer than the node timeout), the app's epoch moves
 * on (`onEvicted`): the engine closes that app's sockets with 4200 so clients reconnect and
 * rebuild their state, and old tokens can never touch the new registration.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../server/logger.js';
import type {
  ChannelSummary,
  ClusterChanges,
  ClusterState,
  JoinRequest,
  JoinResult,
  LeaveResult,
  MemberInput,
  OfflineResult,
  OnlineResult,
} from './cluster-state.js';
import type { RedisLink } from './redis-link.js';
import * as scripts from './redis-scripts.js';

export interface RedisClusterStateOptions {
  link: RedisLink;
  prefix: string;
  logger: Logger;
  /** A node silent for this long is reaped (default 15 s; members are gone within ~1.3× that). */
  nodeTimeoutMs: number;
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

export class RedisClusterState implements ClusterState {
  readonly name = 'redis';
  readonly nodeId = `${hostname().slice(0, 40)}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly redis: Redis;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  /** App id → this node's current registration (token) for it. */
  private readonly registrations = new Map<string, Promise<string>>();
  private readonly tokens = new Map<string, string>();
  private readonly epochs = new Map<string, number>();
  private reapedHandler: (appId: string, changes: ClusterChanges) => void = () => undefined;
  private evictedHandler: (appId: string) => void = () => undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private reaperTimer: NodeJS.Timeout | undefined;
  /** No reaping until the node timeout has passed since (re)connecting: others need a heartbeat first. */
  private reapNotBefore = 0;
  private stopped = false;
  private readonly appsKey: string;

  constructor(private readonly options: RedisClusterStateOptions) {
    this.redis = options.link.commands;
    this.logger = options.logger;
    this.timeoutMs = options.nodeTimeoutMs;
    this.appsKey = `${options.prefix}:{${options.prefix}}:apps`;
    for (const [name, lua] of Object.entries(SCRIPTS)) this.redis.defineCommand(name, { numberOfKeys: 1, lua });
    options.link.onHealthChange((up) => {
      if (up) {
        this.reapNotBefore = Date.now() + this.timeoutMs;
        void this.heartbeat();
      }
    });
  }

  async start(): Promise<void> {
    this.reapNotBefore = Date.now() + this.timeoutMs;
    const every = Math.max(50, Math.floor(this.timeoutMs / 3));
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), every);
    this.heartbeatTimer.unref();
    // Reapers on different nodes drift apart; the atomic claim makes overlaps harmless anyway.
    this.reaperTimer = setInterval(() => void this.reap(), every + Math.floor(Math.random() * (every / 4)));
    this.reaperTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.heartbeatTimer);
    clearInterval(this.reaperTimer);
    if (!this.options.link.healthy()) return;
    // Leave cleanly: remove this node's contributions now and broadcast what changed.
    for (const [appId, token] of this.tokens) {
      try {
        const reply = (await this.run('heraldReap')(this.appKey(appId), token, '1')) as Reply | null;
        if (reply) this.reapedHandler(appId, parseChanges(reply));
      } catch (err) {
        this.logger.warn({ err, appId }, 'could not remove this node from the cluster state');
      }
    }
    this.tokens.clear();
    this.registrations.clear();
  }

  healthy(): boolean {
    return this.options.link.healthy();
  }

  onReaped(handler: (appId: string, changes: ClusterChanges) => void): void {
    this.reapedHandler = handler;
  }

  onEvicted(handler: (appId: string) => void): void {
    this.evictedHandler = handler;
  }

  async join(request: JoinRequest): Promise<JoinResult> {
    if (this.stopped) return { ok: false, reason: 'stopped' };
    const token = await this.register(request.appId);
    const member = request.member;
    const reply = (await this.run('heraldJoin')(
      this.appKey(request.appId),
      token,
      request.channel,
      member?.userId ?? '',
      member ? JSON.stringify([member.rawUserId, member.userInfo ?? null]) : '',
      request.maxMembers,
      request.withCache ? '1' : '0',
    )) as Reply;
    const status = reply[0] as number;
    if (status === -1) return { ok: false, reason: this.evicted(request.appId, token) };
    if (status === -2) return { ok: false, reason: 'full' };
    const [count, revision, added, roster, cached] = reply as [number, number, number, string[] | null, string | null];
    return {
      ok: true,
      token,
      occupied: count === 1,
      subscriptionCount: count,
      revision,
      memberAdded: added === 1,
      roster: roster ? parseRoster(roster) : undefined,
      cached: cached ? parseCache(cached) : undefined,
    };
  }

  async leave(appId: string, channel: string, token: string, userId?: string): Promise<LeaveResult> {
    const none: LeaveResult = { ok: false, vacated: false, subscriptionCount: 0, revision: 0 };
    if (this.stopped || this.tokens.get(appId) !== token) return none;
    const reply = (await this.run('heraldLeave')(this.appKey(appId), token, channel, userId ?? '')) as Reply;
    if (reply[0] === -1) this.evicted(appId, token);
    if ((reply[0] as number) < 0) return none;
    const [count, revision, removed] = reply as [number, number, string | null];
    const result: LeaveResult = { ok: true, vacated: count === 0, subscriptionCount: count, revision };
    if (removed !== null && userId !== undefined) result.memberRemoved = { userId, rawUserId: parseMember(userId, removed).rawUserId };
    return result;
  }

  async userOnline(appId: string, userId: string, watchlist: string[]): Promise<OnlineResult> {
    const none = { ok: false, token: '', cameOnline: false, revision: 0, online: [], snapshotRevision: 0 };
    if (this.stopped) return none;
    const token = await this.register(appId);
    const reply = (await this.run('heraldOnline')(this.appKey(appId), token, userId, ...watchlist)) as Reply;
    if (reply[0] === -1) {
      this.evicted(appId, token);
      return none;
    }
    const [first, revision, flags] = reply as [number, number, number[]];
    return { ok: true, token, cameOnline: first === 1, revision, online: watchlist.filter((_, i) => flags[i] === 1), snapshotRevision: revision };
  }

  async userOffline(appId: string, userId: string, token: string): Promise<OfflineResult> {
    const none: OfflineResult = { ok: false, wentOffline: false, revision: 0 };
    if (this.stopped || this.tokens.get(appId) !== token) return none;
    const reply = (await this.run('heraldOffline')(this.appKey(appId), token, userId)) as Reply;
    if (reply[0] === -1) this.evicted(appId, token);
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
    await this.redis.set(this.appKey(appId) + 'cache:' + channel, JSON.stringify([event, data, Date.now()]), 'PX', ttlSeconds * 1000);
  }

  async getCache(appId: string, channel: string): Promise<{ event: string; data: string; ttl: number; publishedAt?: number } | undefined> {
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

  private register(appId: string): Promise<string> {
    let registration = this.registrations.get(appId);
    if (!registration) {
      const epoch = (this.epochs.get(appId) ?? 0) + 1;
      this.epochs.set(appId, epoch);
      const token = `${this.nodeId}.${epoch}`;
      registration = (async () => {
        await this.redis.sadd(this.appsKey, appId);
        await this.run('heraldRegister')(this.appKey(appId), token, this.timeoutMs);
        this.tokens.set(appId, token);
        return token;
      })();
      registration.catch(() => {
        if (this.registrations.get(appId) === registration) this.registrations.delete(appId);
      });
      this.registrations.set(appId, registration);
    }
    return registration;
  }

  /** The registration behind `token` was reaped: start a new epoch and tell the engine once. */
  private evicted(appId: string, token: string): 'evicted' {
    // At shutdown this node removes itself: a late operation finding it gone is expected.
    if (!this.stopped && this.tokens.get(appId) === token) {
      this.tokens.delete(appId);
      this.registrations.delete(appId);
      this.logger.error({ appId, node: token }, 'this node was removed from the cluster state (it was cut off longer than the node timeout); its connections of the app are closed so clients reconnect');
      try {
        this.evictedHandler(appId);
      } catch (err) {
        this.logger.error({ err }, 'eviction handler failed');
      }
    }
    return 'evicted';
  }

  private async heartbeat(): Promise<void> {
    if (this.stopped || !this.options.link.healthy()) return;
    await Promise.all(
      [...this.tokens].map(async ([appId, token]) => {
        try {
          // Re-adding the app to the set heals a concurrent cleanup by a reaper.
          const [alive] = await Promise.all([this.run('heraldHeartbeat')(this.appKey(appId), token, this.timeoutMs), this.redis.sadd(this.appsKey, appId)]);
          if (alive === 0) this.evicted(appId, token);
        } catch (err) {
          this.logger.debug({ err, appId }, 'heartbeat failed');
        }
      }),
    );
  }

  private async reap(): Promise<void> {
    if (this.stopped || !this.options.link.healthy() || Date.now() < this.reapNotBefore) return;
    try {
      const apps = await this.redis.smembers(this.appsKey);
      await Promise.all(apps.map((appId) => this.reapApp(appId)));
    } catch (err) {
      this.logger.debug({ err }, 'reaper round failed');
    }
  }

  private async reapApp(appId: string): Promise<void> {
    const key = this.appKey(appId);
    const expired = (await this.run('heraldExpired')(key)) as string[];
    const own = this.tokens.get(appId);
    for (const node of expired) {
      if (node === own) continue;
      const reply = (await this.run('heraldReap')(key, node, '0')) as Reply | null;
      if (!reply) continue; // another node claimed it first
      const changes = parseChanges(reply);
      this.logger.warn(
        { appId, node, channels: changes.channels.length, members: changes.members.length, users: changes.usersOffline.length },
        'reaped a node that stopped heartbeating',
      );
      this.reapedHandler(appId, changes);
    }
    if ((await this.redis.zcard(key + 'nodes')) === 0 && !this.tokens.has(appId)) await this.redis.srem(this.appsKey, appId);
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
