/**
 * A worker's view of its node's cluster state: membership, user presence, the channel cache and
 * the node lifecycle, each operation one IPC request to the hub, which keeps the state for all
 * workers (hub-state.ts) and answers atomically. The worker's node id is its token; the hub
 * reports a dead sibling's removed contributions to one surviving worker (`cluster.reaped`),
 * which broadcasts them once.
 */
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
} from '../scaling/cluster-state.js';
import type { IpcPeer } from '../platform/ipc.js';

export class IpcClusterState implements Membership, UserPresence, ChannelCache, ClusterNode {
  readonly name = 'workers';
  private reaped: (appId: string, changes: ClusterChanges) => void = () => undefined;
  private stopped = false;
  private connected = true;

  constructor(
    private readonly hub: IpcPeer,
    readonly nodeId: string,
  ) {
    hub.handle('cluster.reaped', (args) => {
      for (const { appId, changes } of args as Array<{ appId: string; changes: ClusterChanges }>) this.reaped(appId, changes);
    });
  }

  async start(): Promise<void> {}

  /** Leaves cleanly: this worker's members leave at once; the changes are broadcast from here. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const removed = await this.hub.request<Array<{ appId: string; changes: ClusterChanges }>>('cluster.leaveNode').catch(() => []);
    for (const { appId, changes } of removed) this.reaped(appId, changes);
  }

  /** False once the hub is gone (readiness); the worker exits right after. */
  healthy(): boolean {
    return this.connected;
  }

  disconnected(): void {
    this.connected = false;
  }

  join(request: JoinRequest): Promise<JoinResult> {
    if (this.stopped) return Promise.resolve({ ok: false, reason: 'stopped' });
    return this.hub.request('cluster.join', request);
  }

  leave(appId: string, channel: string, _token: string, userId?: string): Promise<LeaveResult> {
    if (this.stopped) return Promise.resolve({ ok: false, vacated: false, subscriptionCount: 0, revision: 0 });
    return this.hub.request('cluster.leave', { appId, channel, userId });
  }

  userOnline(appId: string, userId: string, watchlist: string[]): Promise<OnlineResult> {
    return this.hub.request('cluster.online', { appId, userId, watchlist });
  }

  userOffline(appId: string, userId: string): Promise<OfflineResult> {
    if (this.stopped) return Promise.resolve({ ok: false, wentOffline: false, revision: 0 });
    return this.hub.request('cluster.offline', { appId, userId });
  }

  subscriptionCount(appId: string, channel: string): Promise<number> {
    return this.hub.request('cluster.subscriptionCount', { appId, channel });
  }

  userCount(appId: string, channel: string): Promise<number> {
    return this.hub.request('cluster.userCount', { appId, channel });
  }

  channels(appId: string, prefix?: string): Promise<ChannelSummary[]> {
    return this.hub.request('cluster.channels', { appId, prefix });
  }

  members(appId: string, channel: string): Promise<MemberInput[]> {
    return this.hub.request('cluster.members', { appId, channel });
  }

  setCache(appId: string, channel: string, event: string, data: string, ttlSeconds: number): Promise<void> {
    return this.hub.request('cluster.setCache', { appId, channel, event, data, ttlSeconds });
  }

  getCache(appId: string, channel: string): Promise<CachedEventAnswer | undefined> {
    return this.hub.request('cluster.getCache', { appId, channel });
  }

  onReaped(handler: (appId: string, changes: ClusterChanges) => void): void {
    this.reaped = handler;
  }

  /** A worker is never evicted: the hub sees it alive for as long as its IPC channel is open. */
  onEvicted(): void {}
}
