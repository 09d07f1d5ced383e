/**
 * The in-memory cluster state: the default backend of a single node, and the reference every
 * backend is checked against (test/scaling/contract.ts). Answers synchronously with plain values.
 * "Cluster-wide" is this process; `stop()` removes everything and reports it like a reap, so
 * the engine's shutdown path is the same as with Redis or NATS.
 */
import type { Clock } from './clock.js';
import type {
  CachedEventAnswer,
  ChannelCache,
  ChannelSummary,
  ClusterChanges,
  ClusterNode,
  JoinRequest,
  JoinResult,
  LeaveResult,
  MemberInput,
  Membership,
  OfflineResult,
  OnlineResult,
  UserPresence,
} from './cluster-state.js';

/** The only registration in memory: a node is never reaped or evicted by itself. */
const TOKEN = 'local';

/** Revisions per app, shared by membership and user presence (one order per app, as in Redis). */
class Revisions {
  private readonly byApp = new Map<string, number>();
  next(appId: string): number {
    const revision = (this.byApp.get(appId) ?? 0) + 1;
    this.byApp.set(appId, revision);
    return revision;
  }
  current(appId: string): number {
    return this.byApp.get(appId) ?? 0;
  }
}

interface ChannelEntry {
  subscribers: number;
  /** Presence channels: user id → member and its connection count. */
  members: Map<string, MemberInput & { connections: number }> | undefined;
}

/** Shared lifecycle of the three memory concerns: stopped once, reports through the node. */
class MemoryLifecycle {
  stopped = false;
  reaped: (appId: string, changes: ClusterChanges) => void = () => undefined;
  changes(appId: string, map: Map<string, ClusterChanges>): ClusterChanges {
    let changes = map.get(appId);
    if (!changes) map.set(appId, (changes = { channels: [], members: [], usersOffline: [] }));
    return changes;
  }
}

export class MemoryMembership implements Membership {
  private readonly apps = new Map<string, Map<string, ChannelEntry>>();

  constructor(
    private readonly revisions: Revisions,
    private readonly lifecycle: MemoryLifecycle,
  ) {}

  join(request: JoinRequest): JoinResult {
    if (this.lifecycle.stopped) return { ok: false, reason: 'stopped' };
    let channels = this.apps.get(request.appId);
    if (!channels) this.apps.set(request.appId, (channels = new Map()));
    let entry = channels.get(request.channel);
    const member = request.member;
    const existing = member ? entry?.members?.get(member.userId) : undefined;
    if (member && !existing && (entry?.members?.size ?? 0) >= request.maxMembers) return { ok: false, reason: 'full' };
    if (!entry) channels.set(request.channel, (entry = { subscribers: 0, members: undefined }));
    entry.subscribers++;
    let memberAdded = false;
    if (member) {
      entry.members ??= new Map();
      if (existing) existing.connections++;
      else {
        entry.members.set(member.userId, { userId: member.userId, rawUserId: member.rawUserId, userInfo: member.userInfo, connections: 1 });
        memberAdded = true;
      }
    }
    return {
      ok: true,
      token: TOKEN,
      occupied: entry.subscribers === 1,
      subscriptionCount: entry.subscribers,
      revision: this.revisions.next(request.appId),
      memberAdded,
      roster: member ? rosterOf(entry) : undefined,
    };
  }

  leave(appId: string, channel: string, token: string, userId?: string): LeaveResult {
    const entry = this.apps.get(appId)?.get(channel);
    if (this.lifecycle.stopped || token !== TOKEN || !entry) return { ok: false, vacated: false, subscriptionCount: 0, revision: 0 };
    entry.subscribers--;
    const result: LeaveResult = { ok: true, vacated: entry.subscribers === 0, subscriptionCount: entry.subscribers, revision: this.revisions.next(appId) };
    const member = userId !== undefined ? entry.members?.get(userId) : undefined;
    if (member && --member.connections === 0) {
      entry.members!.delete(member.userId);
      result.memberRemoved = { userId: member.userId, rawUserId: member.rawUserId };
    }
    if (entry.subscribers === 0) this.forget(appId, channel);
    return result;
  }

  subscriptionCount(appId: string, channel: string): number {
    return this.apps.get(appId)?.get(channel)?.subscribers ?? 0;
  }

  userCount(appId: string, channel: string): number {
    return this.apps.get(appId)?.get(channel)?.members?.size ?? 0;
  }

  channels(appId: string, prefix?: string): ChannelSummary[] {
    const out: ChannelSummary[] = [];
    for (const [name, entry] of this.apps.get(appId) ?? []) {
      if (name.startsWith('#') || (prefix && !name.startsWith(prefix))) continue;
      const summary: ChannelSummary = { name, subscriptionCount: entry.subscribers };
      if (name.startsWith('presence-')) summary.userCount = entry.members?.size ?? 0;
      out.push(summary);
    }
    return out;
  }

  members(appId: string, channel: string): MemberInput[] {
    const entry = this.apps.get(appId)?.get(channel);
    return entry ? rosterOf(entry) : [];
  }

  /** Removes every subscription (shutdown), recording what changed per app. */
  removeAll(changesOf: (appId: string) => ClusterChanges): void {
    for (const [appId, channels] of this.apps) {
      const changes = changesOf(appId);
      for (const [channel, entry] of channels) {
        for (const member of entry.members?.values() ?? []) {
          changes.members.push({ channel, userId: member.userId, rawUserId: member.rawUserId, revision: this.revisions.next(appId) });
        }
        changes.channels.push({ channel, subscriptionCount: 0, revision: this.revisions.next(appId) });
      }
    }
    this.apps.clear();
  }

  private forget(appId: string, channel: string): void {
    const channels = this.apps.get(appId)!;
    channels.delete(channel);
    if (channels.size === 0) this.apps.delete(appId);
  }
}

function rosterOf(entry: ChannelEntry): MemberInput[] {
  const out: MemberInput[] = [];
  for (const m of entry.members?.values() ?? []) out.push({ userId: m.userId, rawUserId: m.rawUserId, userInfo: m.userInfo });
  return out;
}

export class MemoryUserPresence implements UserPresence {
  /** App id → user id → signed-in connections. */
  private readonly apps = new Map<string, Map<string, number>>();

  constructor(
    private readonly revisions: Revisions,
    private readonly lifecycle: MemoryLifecycle,
  ) {}

  userOnline(appId: string, userId: string, watchlist: string[]): OnlineResult {
    if (this.lifecycle.stopped) return { ok: false, token: '', cameOnline: false, revision: 0, online: [], snapshotRevision: 0 };
    let users = this.apps.get(appId);
    if (!users) this.apps.set(appId, (users = new Map()));
    const connections = (users.get(userId) ?? 0) + 1;
    users.set(userId, connections);
    const revision = connections === 1 ? this.revisions.next(appId) : this.revisions.current(appId);
    const online = watchlist.filter((id) => users.has(id));
    return { ok: true, token: TOKEN, cameOnline: connections === 1, revision, online, snapshotRevision: revision };
  }

  userOffline(appId: string, userId: string, token: string): OfflineResult {
    const users = this.apps.get(appId);
    const connections = users?.get(userId);
    if (this.lifecycle.stopped || token !== TOKEN || !users || connections === undefined) return { ok: false, wentOffline: false, revision: 0 };
    if (connections > 1) {
      users.set(userId, connections - 1);
      return { ok: true, wentOffline: false, revision: 0 };
    }
    users.delete(userId);
    if (users.size === 0) this.apps.delete(appId);
    return { ok: true, wentOffline: true, revision: this.revisions.next(appId) };
  }

  removeAll(changesOf: (appId: string) => ClusterChanges): void {
    for (const [appId, users] of this.apps) {
      const changes = changesOf(appId);
      for (const userId of users.keys()) changes.usersOffline.push({ userId, revision: this.revisions.next(appId) });
    }
    this.apps.clear();
  }
}

/** Expired entries are dropped when read, and swept at most once per interval on writes. */
const SWEEP_EVERY_MS = 10_000;

export class MemoryChannelCache implements ChannelCache {
  private readonly entries = new Map<string, { event: string; data: string; expiresAt: number }>();
  private sweptAt = 0;

  constructor(private readonly clock: Clock) {}

  setCache(appId: string, channel: string, event: string, data: string, ttlSeconds: number): void {
    const now = this.clock.now();
    if (now - this.sweptAt >= SWEEP_EVERY_MS) this.sweep(now);
    this.entries.set(`${appId}\n${channel}`, { event, data, expiresAt: now + ttlSeconds * 1000 });
  }

  getCache(appId: string, channel: string): CachedEventAnswer | undefined {
    const key = `${appId}\n${channel}`;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const left = entry.expiresAt - this.clock.now();
    if (left <= 0) {
      this.entries.delete(key);
      return undefined;
    }
    return { event: entry.event, data: entry.data, ttl: Math.ceil(left / 1000) };
  }

  private sweep(now: number): void {
    this.sweptAt = now;
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}

export class MemoryNode implements ClusterNode {
  readonly name = 'memory';
  readonly nodeId = 'local';
  constructor(
    private readonly lifecycle: MemoryLifecycle,
    private readonly membership: MemoryMembership,
    private readonly users: MemoryUserPresence,
  ) {}

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    if (this.lifecycle.stopped) return;
    this.lifecycle.stopped = true;
    const byApp = new Map<string, ClusterChanges>();
    const changesOf = (appId: string) => this.lifecycle.changes(appId, byApp);
    this.membership.removeAll(changesOf);
    this.users.removeAll(changesOf);
    for (const [appId, changes] of byApp) this.lifecycle.reaped(appId, changes);
  }

  healthy(): boolean {
    return true;
  }

  onReaped(handler: (appId: string, changes: ClusterChanges) => void): void {
    this.lifecycle.reaped = handler;
  }

  /** Nothing can cut a node off from its own memory: never reported. */
  onEvicted(): void {}
}

/** The memory backends of one node, wired to one another. */
export function memoryClusterState(clock: Clock): { membership: MemoryMembership; users: MemoryUserPresence; cache: MemoryChannelCache; node: MemoryNode } {
  const revisions = new Revisions();
  const lifecycle = new MemoryLifecycle();
  const membership = new MemoryMembership(revisions, lifecycle);
  const users = new MemoryUserPresence(revisions, lifecycle);
  return { membership, users, cache: new MemoryChannelCache(clock), node: new MemoryNode(lifecycle, membership, users) };
}
