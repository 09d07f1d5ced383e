/**
 * Cluster state in a NATS JetStream KV bucket (`<prefix>-state`), so NATS mode needs no Redis.
 *
 * One JSON document per channel (subscriber counts per node token, presence members with their
 * per-node connection counts), per signed-in user (connections per node token), per cache
 * channel, and per node registration. Every change is a compare-and-set on the document's KV
 * revision (nats-kv-docs.ts), so first/last decisions are exact; the KV revision orders the
 * broadcasts. The shared node lifecycle (node-lifecycle.ts) heartbeats the registration
 * documents; claiming a dead node marks its document `dead` with a compare-and-set (exactly one
 * node wins), then its contributions are removed document by document, each removal again a
 * compare-and-set (so each member_removed once).
 */
import type { JetStreamManager, KV } from 'nats';
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
import type { NatsLink } from './nats-link.js';
import { systemClock, type Clock } from './clock.js';
import { NodeLifecycle, type RegistryStore } from './node-lifecycle.js';
import { encodeJson, isConflict, KvDocuments, parse, REVISION_SPAN } from './nats-kv-docs.js';
import { scanKeys } from './nats-scan.js';

export interface NatsClusterStateOptions {
  link: NatsLink;
  prefix: string;
  logger: Logger;
  nodeTimeoutMs: number;
  clock?: Clock;
}

type Counts = Record<string, number>;
interface ChannelDoc {
  s: Counts;
  m: Record<string, { r: string | number; i: unknown; c: Counts }>;
}
interface UserDoc {
  n: Counts;
}
interface NodeDoc {
  dead?: boolean;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const unb64 = (s: string) => Buffer.from(s, 'base64url').toString('utf8');
const sum = (counts: Counts) => Object.values(counts).reduce((a, b) => a + b, 0);

function bump(counts: Counts, key: string, by: number): number {
  const next = (counts[key] ?? 0) + by;
  if (next > 0) counts[key] = next;
  else delete counts[key];
  return next;
}

export class NatsClusterState implements Membership, UserPresence, ChannelCache, ClusterNode {
  readonly name = 'nats';
  private bucket: KV | undefined;
  private manager: JetStreamManager | undefined;
  private readonly bucketName: string;
  private readonly channelDocs = new KvDocuments<ChannelDoc>(() => this.kv, () => ({ s: {}, m: {} }));
  private readonly userDocs = new KvDocuments<UserDoc>(() => this.kv, () => ({ n: {} }));
  private readonly lifecycle: NodeLifecycle;
  private readonly clock: Clock;
  /** The KV server's clock (entry timestamps) relative to ours: expiry is judged on one clock. */
  private serverClockOffset = 0;

  constructor(private readonly options: NatsClusterStateOptions) {
    this.bucketName = `${options.prefix}-state`;
    this.clock = options.clock ?? systemClock;
    this.lifecycle = new NodeLifecycle({
      store: this.registry(),
      logger: options.logger,
      clock: this.clock,
      nodeTimeoutMs: options.nodeTimeoutMs,
      linkHealthy: () => this.healthy(),
    });
    options.link.onHealthChange((up) => {
      if (up) this.lifecycle.linkUp();
    });
  }

  get nodeId(): string {
    return this.lifecycle.nodeId;
  }

  private get kv(): KV {
    if (!this.bucket) throw new Error('NATS cluster state not started');
    return this.bucket;
  }

  private get jsm(): JetStreamManager {
    if (!this.manager) throw new Error('NATS cluster state not started');
    return this.manager;
  }

  async start(): Promise<void> {
    await this.options.link.start();
    this.bucket = await this.options.link.nc.jetstream().views.kv(this.bucketName, { history: 1 });
    this.manager = await this.options.link.nc.jetstreamManager();
    this.lifecycle.start();
  }

  stop(): Promise<void> {
    return this.lifecycle.stop();
  }

  healthy(): boolean {
    return this.options.link.healthy() && !!this.bucket;
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
    const { result, revision } = await this.channelDocs.mutate(this.channelKey(request.appId, request.channel), (doc) => {
      if (member && !doc.m[member.userId] && Object.keys(doc.m).length >= request.maxMembers) return 'full' as const;
      const occupied = sum(doc.s) === 0;
      bump(doc.s, token, 1);
      let added = false;
      if (member) {
        let entry = doc.m[member.userId];
        if (!entry) {
          entry = doc.m[member.userId] = { r: member.rawUserId, i: member.userInfo ?? null, c: {} };
          added = true;
        }
        bump(entry.c, token, 1);
      }
      return { occupied, added, count: sum(doc.s), roster: member ? rosterOf(doc) : undefined };
    });
    if (result === 'full') return { ok: false, reason: 'full' };
    if (!this.lifecycle.isCurrent(request.appId, token)) return { ok: false, reason: 'evicted' };
    return {
      ok: true,
      token,
      occupied: result.occupied,
      subscriptionCount: result.count,
      revision,
      memberAdded: result.added,
      roster: result.roster,
    };
  }

  /** Also runs for an old (evicted) token: it removes whatever that registration still holds. */
  async leave(appId: string, channel: string, token: string, userId?: string): Promise<LeaveResult> {
    if (this.lifecycle.stopped) return { ok: false, vacated: false, subscriptionCount: 0, revision: 0 };
    const { result, revision } = await this.channelDocs.mutate(this.channelKey(appId, channel), (doc) => {
      if (!doc.s[token]) return undefined;
      bump(doc.s, token, -1);
      let removed: { userId: string; rawUserId: string | number } | undefined;
      const entry = userId !== undefined ? doc.m[userId] : undefined;
      if (userId !== undefined && entry?.c[token]) {
        bump(entry.c, token, -1);
        if (sum(entry.c) === 0) {
          delete doc.m[userId];
          removed = { userId, rawUserId: entry.r };
        }
      }
      const count = sum(doc.s);
      return { count, vacated: count === 0, removed };
    });
    if (!result) return { ok: false, vacated: false, subscriptionCount: 0, revision: 0 };
    return { ok: true, vacated: result.vacated, subscriptionCount: result.count, revision, memberRemoved: result.removed };
  }

  async userOnline(appId: string, userId: string, watchlist: string[]): Promise<OnlineResult> {
    if (this.lifecycle.stopped) return { ok: false, token: '', cameOnline: false, revision: 0, online: [], snapshotRevision: 0 };
    const token = await this.lifecycle.token(appId);
    const { result: first, revision } = await this.userDocs.mutate(this.userKey(appId, userId), (doc) => bump(doc.n, token, 1) === 1 && sum(doc.n) === 1);
    const statuses = await Promise.all(watchlist.map((id) => this.userDocs.read(this.userKey(appId, id))));
    const online = watchlist.filter((_, i) => sum(statuses[i]?.doc.n ?? {}) > 0);
    // Each status was read at its own revision: only the oldest is safe to suppress up to.
    const snapshotRevision =
      statuses.length && statuses.every(Boolean) ? Math.min(...statuses.map((s) => s!.entry.revision)) * REVISION_SPAN + REVISION_SPAN - 1 : 0;
    return { ok: true, token, cameOnline: first, revision, online, snapshotRevision };
  }

  async userOffline(appId: string, userId: string, token: string): Promise<OfflineResult> {
    if (this.lifecycle.stopped) return { ok: false, wentOffline: false, revision: 0 };
    const { result, revision } = await this.userDocs.mutate(this.userKey(appId, userId), (doc) => {
      if (!doc.n[token]) return undefined;
      bump(doc.n, token, -1);
      return sum(doc.n) === 0;
    });
    return result === undefined ? { ok: false, wentOffline: false, revision: 0 } : { ok: true, wentOffline: result, revision };
  }

  async subscriptionCount(appId: string, channel: string): Promise<number> {
    return sum((await this.channelDocs.read(this.channelKey(appId, channel)))?.doc.s ?? {});
  }

  async userCount(appId: string, channel: string): Promise<number> {
    return Object.keys((await this.channelDocs.read(this.channelKey(appId, channel)))?.doc.m ?? {}).length;
  }

  async channels(appId: string, prefix?: string): Promise<ChannelSummary[]> {
    const keys = await scanKeys(this.jsm, this.bucketName, `${this.appKey(appId)}.c.*`);
    const names = keys.map((k) => unb64(k.slice(k.lastIndexOf('.') + 1))).filter((n) => !n.startsWith('#') && (!prefix || n.startsWith(prefix)));
    const docs = await Promise.all(names.map((n) => this.channelDocs.read(this.channelKey(appId, n))));
    const out: ChannelSummary[] = [];
    names.forEach((name, i) => {
      const doc = docs[i]?.doc;
      const count = doc ? sum(doc.s) : 0;
      if (count === 0) return;
      const summary: ChannelSummary = { name, subscriptionCount: count };
      if (name.startsWith('presence-')) summary.userCount = Object.keys(doc!.m).length;
      out.push(summary);
    });
    return out;
  }

  async members(appId: string, channel: string): Promise<MemberInput[]> {
    const found = await this.channelDocs.read(this.channelKey(appId, channel));
    return found ? rosterOf(found.doc) : [];
  }

  async setCache(appId: string, channel: string, event: string, data: string, ttlSeconds: number): Promise<void> {
    await this.kv.put(this.cacheKey(appId, channel), encodeJson({ e: event, d: data, x: this.clock.now() + ttlSeconds * 1000, p: this.clock.now() }));
  }

  async getCache(appId: string, channel: string): Promise<CachedEventAnswer | undefined> {
    const entry = await this.kv.get(this.cacheKey(appId, channel));
    if (!entry || entry.operation !== 'PUT') return undefined;
    const doc = parse<{ e?: unknown; d?: unknown; x?: unknown; p?: unknown }>(entry.value);
    if (!doc || typeof doc.e !== 'string' || typeof doc.d !== 'string' || typeof doc.x !== 'number') return undefined;
    const left = doc.x - this.clock.now();
    if (left <= 0) return undefined;
    return typeof doc.p === 'number' ? { event: doc.e, data: doc.d, ttl: Math.ceil(left / 1000), publishedAt: doc.p } : { event: doc.e, data: doc.d, ttl: Math.ceil(left / 1000) };
  }

  // ---- keys, registration, heartbeats, reaping --------------------------------------------

  private appKey(appId: string): string {
    return `a.${b64(appId)}`;
  }
  private channelKey(appId: string, channel: string): string {
    return `${this.appKey(appId)}.c.${b64(channel)}`;
  }
  private userKey(appId: string, userId: string): string {
    return `${this.appKey(appId)}.u.${b64(userId)}`;
  }
  private cacheKey(appId: string, channel: string): string {
    return `${this.appKey(appId)}.k.${b64(channel)}`;
  }
  private nodeKey(appId: string, token: string): string {
    return `${this.appKey(appId)}.n.${b64(token)}`;
  }

  /** The shared lifecycle's primitives, in the KV bucket. */
  private registry(): RegistryStore {
    return {
      register: async (appId, token) => {
        await this.kv.put(this.nodeKey(appId, token), encodeJson({}));
      },
      heartbeat: async (appId, token) => {
        const key = this.nodeKey(appId, token);
        const entry = await this.kv.get(key);
        if (!entry || entry.operation !== 'PUT' || parse<NodeDoc>(entry.value)?.dead) return false;
        try {
          // Compare-and-set: a reaper's `dead` mark must never be overwritten by a late heartbeat.
          await this.kv.update(key, encodeJson({}), entry.revision);
        } catch (err) {
          if (isConflict(err)) return true; // the next round tells whether it was a reaper
          throw err;
        }
        const fresh = await this.kv.get(key);
        if (fresh) this.serverClockOffset = fresh.created.getTime() - this.clock.now();
        return true;
      },
      expired: async () => {
        const now = this.clock.now() + this.serverClockOffset;
        const out: Array<{ appId: string; token: string }> = [];
        for (const key of await scanKeys(this.jsm, this.bucketName, 'a.*.n.*')) {
          const [, app, , node] = key.split('.');
          const entry = await this.kv.get(key);
          if (!entry || entry.operation !== 'PUT') continue;
          if (parse<NodeDoc>(entry.value)?.dead || now - entry.created.getTime() > this.options.nodeTimeoutMs) out.push({ appId: unb64(app!), token: unb64(node!) });
        }
        return out;
      },
      remove: async (appId, token, self) => {
        if (!self && !(await this.claim(appId, token))) return undefined;
        return this.removeNode(appId, token);
      },
    };
  }

  /** Marks an expired registration dead (compare-and-set): true for the one node that wins. */
  private async claim(appId: string, token: string): Promise<boolean> {
    const key = this.nodeKey(appId, token);
    const entry = await this.kv.get(key);
    if (!entry || entry.operation !== 'PUT') return false;
    if (parse<NodeDoc>(entry.value)?.dead) return true; // claimed earlier, removal unfinished: finish it
    if (this.clock.now() + this.serverClockOffset - entry.created.getTime() <= this.options.nodeTimeoutMs) return false; // it heartbeated
    try {
      await this.kv.update(key, encodeJson({ dead: true }), entry.revision);
      return true;
    } catch (err) {
      if (isConflict(err)) return false; // it heartbeated, or another node claimed it
      throw err;
    }
  }

  /** Removes every contribution of `token` (document by document, each a compare-and-set). */
  private async removeNode(appId: string, token: string): Promise<ClusterChanges> {
    const changes: ClusterChanges = { channels: [], members: [], usersOffline: [] };
    const app = this.appKey(appId);
    for (const key of await scanKeys(this.jsm, this.bucketName, `${app}.c.*`)) {
      const channel = unb64(key.slice(key.lastIndexOf('.') + 1));
      const { result, revision } = await this.channelDocs.mutate(key, (doc) => {
        if (!doc.s[token] && !Object.values(doc.m).some((e) => e.c[token])) return undefined;
        delete doc.s[token];
        const removed: Array<{ userId: string; rawUserId: string | number }> = [];
        for (const [userId, entry] of Object.entries(doc.m)) {
          if (!entry.c[token]) continue;
          delete entry.c[token];
          if (sum(entry.c) === 0) {
            delete doc.m[userId];
            removed.push({ userId, rawUserId: entry.r });
          }
        }
        return { count: sum(doc.s), removed };
      });
      if (!result) continue;
      for (const m of result.removed) changes.members.push({ channel, ...m, revision });
      changes.channels.push({ channel, subscriptionCount: result.count, revision });
    }
    for (const key of await scanKeys(this.jsm, this.bucketName, `${app}.u.*`)) {
      const userId = unb64(key.slice(key.lastIndexOf('.') + 1));
      const { result, revision } = await this.userDocs.mutate(key, (doc) => {
        if (!doc.n[token]) return undefined;
        delete doc.n[token];
        return sum(doc.n) === 0;
      });
      if (result) changes.usersOffline.push({ userId, revision });
    }
    await this.kv.delete(this.nodeKey(appId, token));
    return changes;
  }
}

function rosterOf(doc: ChannelDoc): MemberInput[] {
  return Object.entries(doc.m).map(([userId, e]) => ({ userId, rawUserId: e.r, userInfo: e.i ?? undefined }));
}
