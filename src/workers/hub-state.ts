/**
 * The cluster state of one multi-worker node, kept in the primary's memory. Each worker is a
 * "node" of it: every change is counted under the worker that made it, so a worker that dies is
 * removed exactly (its subscriptions, presence members and signed-in users leave once), as a
 * dead node is reaped from Redis or NATS. Operations are synchronous: the primary answers each
 * IPC request in one turn, which is what makes first/last decisions atomic across workers.
 *
 * Same semantics as the Lua scripts of the Redis backend (scaling/redis-scripts.ts).
 */
import type { ChannelSummary, ClusterChanges, JoinRequest, JoinResult, LeaveResult, MemberInput, OfflineResult, OnlineResult } from '../scaling/cluster-state.js';

/** Count table keyed by string; entries at 0 are deleted. Returns the new count. */
function add(map: Map<string, number>, key: string, delta: number): number {
  const next = (map.get(key) ?? 0) + delta;
  if (next <= 0) map.delete(key);
  else map.set(key, next);
  return Math.max(0, next);
}

interface NodeShare {
  subs: Map<string, number>;
  /** `${channel}\n${userId}` → member connections on that worker. */
  members: Map<string, number>;
  users: Map<string, number>;
}

class AppState {
  revision = 0;
  readonly subs = new Map<string, number>();
  /** channel → user id → member connections on every worker. */
  readonly memberCounts = new Map<string, Map<string, number>>();
  readonly roster = new Map<string, Map<string, MemberInput>>();
  readonly users = new Map<string, number>();
  readonly cache = new Map<string, { event: string; data: string; expiresAt: number }>();
  readonly nodes = new Map<string, NodeShare>();

  share(node: string): NodeShare {
    let share = this.nodes.get(node);
    if (!share) this.nodes.set(node, (share = { subs: new Map(), members: new Map(), users: new Map() }));
    return share;
  }
}

export class HubClusterState {
  private readonly apps = new Map<string, AppState>();
  /** Workers currently registered; a removed one's late requests change nothing. */
  private readonly live = new Set<string>();

  constructor(private readonly now: () => number = Date.now) {}

  addNode(node: string): void {
    this.live.add(node);
  }

  private app(appId: string): AppState {
    let state = this.apps.get(appId);
    if (!state) this.apps.set(appId, (state = new AppState()));
    return state;
  }

  join(node: string, request: JoinRequest): JoinResult {
    if (!this.live.has(node)) return { ok: false, reason: 'evicted' };
    const state = this.app(request.appId);
    const { channel, member } = request;
    let counts = member ? state.memberCounts.get(channel) : undefined;
    if (member && !counts?.has(member.userId) && (counts?.size ?? 0) >= request.maxMembers) return { ok: false, reason: 'full' };
    const share = state.share(node);
    const total = add(state.subs, channel, 1);
    add(share.subs, channel, 1);
    const revision = ++state.revision;
    let memberAdded = false;
    let roster: MemberInput[] | undefined;
    if (member) {
      if (!counts) state.memberCounts.set(channel, (counts = new Map()));
      add(share.members, `${channel}\n${member.userId}`, 1);
      if (add(counts, member.userId, 1) === 1) {
        let info = state.roster.get(channel);
        if (!info) state.roster.set(channel, (info = new Map()));
        info.set(member.userId, member);
        memberAdded = true;
      }
      roster = [...state.roster.get(channel)!.values()];
    }
    return { ok: true, token: node, occupied: total === 1, subscriptionCount: total, revision, memberAdded, roster };
  }

  leave(node: string, appId: string, channel: string, userId?: string): LeaveResult {
    const none: LeaveResult = { ok: false, vacated: false, subscriptionCount: 0, revision: 0 };
    const state = this.apps.get(appId);
    const share = state?.nodes.get(node);
    if (!state || !share || !this.live.has(node) || !share.subs.has(channel)) return none;
    add(share.subs, channel, -1);
    const total = add(state.subs, channel, -1);
    const result: LeaveResult = { ok: true, vacated: total === 0, subscriptionCount: total, revision: ++state.revision };
    if (userId !== undefined) {
      const key = `${channel}\n${userId}`;
      if (share.members.has(key)) {
        add(share.members, key, -1);
        const removed = this.dropMember(state, channel, userId, 1);
        if (removed) result.memberRemoved = { userId, rawUserId: removed.rawUserId };
      }
    }
    this.forgetIdle(state, node);
    return result;
  }

  userOnline(node: string, appId: string, userId: string, watchlist: string[]): OnlineResult {
    if (!this.live.has(node)) return { ok: false, token: '', cameOnline: false, revision: 0, online: [], snapshotRevision: 0 };
    const state = this.app(appId);
    add(state.share(node).users, userId, 1);
    const cameOnline = add(state.users, userId, 1) === 1;
    const revision = cameOnline ? ++state.revision : state.revision;
    return { ok: true, token: node, cameOnline, revision, online: watchlist.filter((id) => state.users.has(id)), snapshotRevision: revision };
  }

  userOffline(node: string, appId: string, userId: string): OfflineResult {
    const state = this.apps.get(appId);
    const share = state?.nodes.get(node);
    if (!state || !share || !this.live.has(node) || !share.users.has(userId)) return { ok: false, wentOffline: false, revision: 0 };
    add(share.users, userId, -1);
    const wentOffline = add(state.users, userId, -1) === 0;
    const result = { ok: true, wentOffline, revision: wentOffline ? ++state.revision : 0 };
    this.forgetIdle(state, node);
    return result;
  }

  subscriptionCount(appId: string, channel: string): number {
    return this.apps.get(appId)?.subs.get(channel) ?? 0;
  }

  userCount(appId: string, channel: string): number {
    return this.apps.get(appId)?.memberCounts.get(channel)?.size ?? 0;
  }

  channels(appId: string, prefix?: string): ChannelSummary[] {
    const state = this.apps.get(appId);
    if (!state) return [];
    const out: ChannelSummary[] = [];
    for (const [name, subscriptionCount] of state.subs) {
      if (name.startsWith('#') || (prefix && !name.startsWith(prefix))) continue;
      const summary: ChannelSummary = { name, subscriptionCount };
      if (name.startsWith('presence-')) summary.userCount = state.memberCounts.get(name)?.size ?? 0;
      out.push(summary);
    }
    return out;
  }

  members(appId: string, channel: string): MemberInput[] {
    return [...(this.apps.get(appId)?.roster.get(channel)?.values() ?? [])];
  }

  setCache(appId: string, channel: string, event: string, data: string, ttlSeconds: number): void {
    this.app(appId).cache.set(channel, { event, data, expiresAt: this.now() + ttlSeconds * 1000 });
  }

  getCache(appId: string, channel: string): { event: string; data: string; ttl: number } | undefined {
    const state = this.apps.get(appId);
    const entry = state && this.cached(state, channel);
    return entry && { event: entry.event, data: entry.data, ttl: Math.ceil((entry.expiresAt - this.now()) / 1000) };
  }

  /**
   * Removes a worker and everything it contributed (it died, or is leaving cleanly); returns what
   * changed per app, to be broadcast and observed once by one surviving worker.
   */
  removeNode(node: string): Array<{ appId: string; changes: ClusterChanges }> {
    if (!this.live.delete(node)) return [];
    const out: Array<{ appId: string; changes: ClusterChanges }> = [];
    for (const [appId, state] of this.apps) {
      const share = state.nodes.get(node);
      if (!share) continue;
      state.nodes.delete(node);
      const changes: ClusterChanges = { channels: [], members: [], usersOffline: [] };
      for (const [channel, n] of share.subs) {
        changes.channels.push({ channel, subscriptionCount: add(state.subs, channel, -n), revision: ++state.revision });
      }
      for (const [key, n] of share.members) {
        const cut = key.indexOf('\n');
        const channel = key.slice(0, cut);
        const userId = key.slice(cut + 1);
        const removed = this.dropMember(state, channel, userId, n);
        if (removed) changes.members.push({ channel, userId, rawUserId: removed.rawUserId, revision: ++state.revision });
      }
      for (const [userId, n] of share.users) {
        if (add(state.users, userId, -n) === 0) changes.usersOffline.push({ userId, revision: ++state.revision });
      }
      out.push({ appId, changes });
    }
    return out;
  }

  /** Cache entries expire lazily; this sweeps them (the primary calls it every minute). */
  sweep(): void {
    const now = this.now();
    for (const state of this.apps.values()) {
      for (const [channel, entry] of state.cache) if (entry.expiresAt <= now) state.cache.delete(channel);
    }
  }

  private cached(state: AppState, channel: string) {
    const entry = state.cache.get(channel);
    if (entry && entry.expiresAt <= this.now()) {
      state.cache.delete(channel);
      return undefined;
    }
    return entry;
  }

  /** Takes `n` connections of a member away; returns the member when that was their last. */
  private dropMember(state: AppState, channel: string, userId: string, n: number): MemberInput | undefined {
    const counts = state.memberCounts.get(channel);
    if (!counts || add(counts, userId, -n) > 0) return undefined;
    if (counts.size === 0) state.memberCounts.delete(channel);
    const info = state.roster.get(channel);
    const member = info?.get(userId) ?? { userId, rawUserId: userId, userInfo: undefined };
    info?.delete(userId);
    if (info?.size === 0) state.roster.delete(channel);
    return member;
  }

  /**
   * A worker with nothing left in an app no longer needs its share there. The app's own entry
   * stays: its revision must keep growing, or workers would take new changes for old ones.
   */
  private forgetIdle(state: AppState, node: string): void {
    const share = state.nodes.get(node);
    if (share && share.subs.size === 0 && share.members.size === 0 && share.users.size === 0) state.nodes.delete(node);
  }
}
