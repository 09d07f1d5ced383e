/**
 * The console's view of the whole cluster, over the engine's Control bus (so it reaches every
 * node, and every worker of a multi-worker node, whichever backend carries it):
 *
 * - every node reports its per-app connection counts: within a second of a change, at least
 *   every HEARTBEAT_MS, and every second while a console anywhere watches (with its messages per
 *   second). A node silent for NODE_TTL_MS is forgotten; a node that stops says so.
 * - a node whose console streams the live feed announces it ('watch', with the apps it watches
 *   and a TTL, refreshed while it watches; 'unwatch' when the last tab closes). Only while some
 *   other node watches does a node build and forward its feed entries, batched every 250 ms and
 *   capped at FORWARD_PER_SECOND (the rest is counted as sampled out). Nobody watching: nothing
 *   is built or sent, and the fan-out path never sees any of this.
 *
 * Messages from other nodes are validated and bounded here (sizes, counts): the bus is shared.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { ChannelsEngine } from '../channels/engine.js';
import type { Clock } from '../scaling/clock.js';
import type { FeedRelay, LogEntry, LogKind } from './live-feed.js';
import type { ClusterCounts, NodeInfo } from './sources.js';
import { serviceKey } from '../platform/module-graph.js';

export const CONSOLE_MODULE = 'console';
const TICK_MS = 1000;
const FLUSH_MS = 250;
export const HEARTBEAT_MS = 5000;
export const NODE_TTL_MS = 3 * HEARTBEAT_MS;
const WATCH_TTL_MS = 15_000;
const WATCH_REFRESH_MS = 5000;
/** Feed entries one node forwards per second at most (the rest is counted as sampled out). */
export const FORWARD_PER_SECOND = 100;
const MAX_APPS_PER_REPORT = 1000;
const MAX_WATCHED_APPS = 50;
const MAX_NODES = 256;
const MAX_TEXT = 400;
const MAX_DATA = 320;
const KINDS = new Set<LogKind>(['connection', 'subscription', 'client_event', 'api_event', 'presence', 'webhook', 'channel']);

type Rates = { delivered: number; published: number };

/** What a node knows of another. */
interface RemoteNode {
  id: string;
  seenAt: number;
  connections: Map<string, number>;
}

type Body =
  | { k: 'report'; node: string; conns: Array<[string, number]>; rates?: Array<[string, number, number]> }
  | { k: 'watch'; node: string; apps: string[] | '*'; ttl: number }
  | { k: 'unwatch'; node: string }
  | { k: 'feed'; node: string; entries: LogEntry[]; dropped: Array<[string, number]> }
  | { k: 'leave'; node: string };

/** The console's ClusterView (the GraphQL `cluster` query lists its nodes). */
export const CONSOLE_CLUSTER_SERVICE = serviceKey<ClusterView>('console.cluster');

export class ClusterView implements FeedRelay, ClusterCounts {
  readonly nodeId: string;
  private readonly clock: Clock;
  private readonly nodes = new Map<string, RemoteNode>();
  /** Other nodes' consoles watching the feed: node → apps ('*': all) and until when. */
  private readonly watchers = new Map<string, { apps: Set<string> | '*'; until: number }>();
  private wantAll = false;
  private readonly wantApps = new Set<string>();
  /** Apps with local connections (or that had some at the last report). */
  private readonly localApps = new Set<string>();
  private countsChanged = true;
  private lastReportAt = 0;
  private lastSecond = new Map<string, Rates>();
  private remoteRates = new Map<string, Rates>();
  /** What this node's own consoles watch (sent to the others). */
  private localWatch: Set<string> | '*' | undefined;
  private lastWatchAt = 0;
  private pending: LogEntry[] = [];
  private dropped = new Map<string, number>();
  private sentThisSecond = 0;
  private secondStartedAt = 0;
  private entriesListener: (node: string, entries: LogEntry[], dropped: Map<string, number>) => void = () => undefined;
  private tickTimer: ReturnType<Clock['setInterval']> | undefined;
  private flushTimer: ReturnType<Clock['setInterval']> | undefined;
  private detach: Array<() => void> = [];

  constructor(private readonly engine: ChannelsEngine) {
    this.clock = engine.clock;
    const own = engine.node.nodeId;
    // In-process nodes are all called 'local': make this one's name unique on the bus.
    this.nodeId = own && own !== 'local' ? own.slice(0, 120) : `${hostname().slice(0, 40)}:${process.pid}:${randomBytes(3).toString('hex')}`;
  }

  start(): void {
    this.detach.push(this.engine.onModuleMessage(CONSOLE_MODULE, (message) => this.receive(message.body)));
    const touched = (appId: string) => {
      this.localApps.add(appId);
      this.countsChanged = true;
    };
    this.detach.push(this.engine.observe({ connectionOpened: (app) => touched(app.id), connectionClosed: (app) => touched(app.id) }));
    this.tickTimer = this.clock.setInterval(() => this.tick(), TICK_MS);
    this.report();
  }

  stop(): void {
    for (const undo of this.detach) undo();
    this.detach = [];
    this.clock.clearInterval(this.tickTimer);
    this.clock.clearInterval(this.flushTimer);
    this.tickTimer = this.flushTimer = undefined;
    this.send({ k: 'leave', node: this.nodeId });
  }

  // ---- what the console reads -------------------------------------------------------------

  /** Connections of an app on every node. */
  connectionCount(appId: string): number {
    let n = this.engine.connectionCount(appId);
    const since = this.clock.now() - NODE_TTL_MS;
    for (const node of this.nodes.values()) if (node.seenAt >= since) n += node.connections.get(appId) ?? 0;
    return n;
  }

  /** This node and every node heard from within NODE_TTL_MS. */
  nodeList(appId?: string): NodeInfo[] {
    const now = this.clock.now();
    const self: NodeInfo = { id: this.nodeId, self: true, connections: this.engine.connectionCount(), reportedAt: now };
    if (appId !== undefined) self.appConnections = this.engine.connectionCount(appId);
    const out = [self];
    for (const node of this.nodes.values()) {
      if (node.seenAt < now - NODE_TTL_MS) continue;
      let total = 0;
      for (const n of node.connections.values()) total += n;
      const info: NodeInfo = { id: node.id, self: false, connections: total, reportedAt: node.seenAt };
      if (appId !== undefined) info.appConnections = node.connections.get(appId) ?? 0;
      out.push(info);
    }
    return out;
  }

  // ---- FeedRelay (live-feed.ts) ---------------------------------------------------------------

  wanted(appId: string): boolean {
    return this.wantAll || (this.wantApps.size > 0 && this.wantApps.has(appId));
  }

  forward(entry: LogEntry): void {
    if (!this.wanted(entry.appId)) return;
    const now = this.clock.now();
    if (now - this.secondStartedAt >= 1000) {
      this.secondStartedAt = now;
      this.sentThisSecond = 0;
    }
    if (this.sentThisSecond < FORWARD_PER_SECOND) {
      this.sentThisSecond++;
      this.pending.push(entry);
    } else {
      this.dropped.set(entry.appId, (this.dropped.get(entry.appId) ?? 0) + 1);
    }
  }

  watching(apps: ReadonlySet<string> | '*' | undefined): void {
    const next = apps === undefined || apps === '*' ? apps : apps.size > MAX_WATCHED_APPS ? '*' : new Set(apps);
    const same = sameWatch(this.localWatch, next);
    this.localWatch = next;
    if (same) return;
    if (next === undefined) this.send({ k: 'unwatch', node: this.nodeId });
    else this.sendWatch();
  }

  onEntries(listener: (node: string, entries: LogEntry[], dropped: Map<string, number>) => void): void {
    this.entriesListener = listener;
  }

  localSecond(rates: Map<string, Rates>): void {
    this.lastSecond = rates;
  }

  takeRemoteRates(): Map<string, Rates> {
    const taken = this.remoteRates;
    this.remoteRates = new Map();
    return taken;
  }

  // ---- timers -------------------------------------------------------------------------------

  private tick(): void {
    const now = this.clock.now();
    this.expire(now);
    const watchedElsewhere = this.wantAll || this.wantApps.size > 0;
    if (watchedElsewhere || this.countsChanged || now - this.lastReportAt >= HEARTBEAT_MS) this.report();
    if (this.localWatch !== undefined && now - this.lastWatchAt >= WATCH_REFRESH_MS) this.sendWatch();
  }

  private expire(now: number): void {
    let changed = false;
    for (const [id, watcher] of this.watchers) {
      if (watcher.until < now) {
        this.watchers.delete(id);
        changed = true;
      }
    }
    if (changed) this.recomputeWants();
    for (const [id, node] of this.nodes) if (node.seenAt < now - NODE_TTL_MS) this.nodes.delete(id);
  }

  private report(): void {
    const conns: Array<[string, number]> = [];
    for (const appId of this.localApps) {
      const n = this.engine.connectionCount(appId);
      if (conns.length < MAX_APPS_PER_REPORT) conns.push([appId, n]);
      // Reported as 0 once, then forgotten until it has connections again.
      if (n === 0) this.localApps.delete(appId);
    }
    const body: Body = { k: 'report', node: this.nodeId, conns };
    if (this.wantAll || this.wantApps.size > 0) {
      body.rates = [];
      for (const [appId, r] of this.lastSecond) {
        if ((r.delivered || r.published) && body.rates.length < MAX_APPS_PER_REPORT) body.rates.push([appId, r.delivered, r.published]);
      }
      this.lastSecond = new Map();
    }
    this.countsChanged = false;
    this.lastReportAt = this.clock.now();
    this.send(body);
  }

  private sendWatch(): void {
    if (this.localWatch === undefined) return;
    this.lastWatchAt = this.clock.now();
    this.send({ k: 'watch', node: this.nodeId, apps: this.localWatch === '*' ? '*' : [...this.localWatch], ttl: WATCH_TTL_MS });
  }

  private flush(): void {
    if (this.pending.length === 0 && this.dropped.size === 0) return;
    const body: Body = { k: 'feed', node: this.nodeId, entries: this.pending, dropped: [...this.dropped] };
    this.pending = [];
    this.dropped = new Map();
    this.send(body);
  }

  private recomputeWants(): void {
    this.wantAll = false;
    this.wantApps.clear();
    for (const watcher of this.watchers.values()) {
      if (watcher.apps === '*') this.wantAll = true;
      else for (const app of watcher.apps) this.wantApps.add(app);
    }
    const wanted = this.wantAll || this.wantApps.size > 0;
    if (wanted && !this.flushTimer) {
      this.flushTimer = this.clock.setInterval(() => this.flush(), FLUSH_MS);
    } else if (!wanted && this.flushTimer) {
      this.clock.clearInterval(this.flushTimer);
      this.flushTimer = undefined;
      this.pending = [];
      this.dropped = new Map();
    }
  }

  private send(body: Body): void {
    void this.engine.control.send({ type: 'module', appId: '', module: CONSOLE_MODULE, body });
  }

  // ---- receiving ----------------------------------------------------------------------------

  private receive(raw: unknown): void {
    const body = raw as Partial<Record<string, unknown>> | null;
    if (!body || typeof body !== 'object' || !isId(body.node) || body.node === this.nodeId) return;
    const node = body.node;
    const now = this.clock.now();
    switch (body.k) {
      case 'report':
        return this.onReport(node, body.conns, body.rates, now);
      case 'watch': {
        const apps = body.apps === '*' ? '*' : Array.isArray(body.apps) ? new Set(body.apps.filter(isId).slice(0, MAX_WATCHED_APPS)) : undefined;
        const ttl = typeof body.ttl === 'number' ? Math.min(Math.max(body.ttl, 1000), 60_000) : WATCH_TTL_MS;
        if (!apps || (!this.watchers.has(node) && this.watchers.size >= MAX_NODES)) return;
        this.watchers.set(node, { apps, until: now + ttl });
        this.recomputeWants();
        // A new watcher sees fresh numbers at once.
        if (now - this.lastReportAt >= 250) this.report();
        return;
      }
      case 'unwatch':
        if (this.watchers.delete(node)) this.recomputeWants();
        return;
      case 'feed':
        return this.onFeed(node, body.entries, body.dropped);
      case 'leave':
        this.nodes.delete(node);
        if (this.watchers.delete(node)) this.recomputeWants();
        return;
    }
  }

  private onReport(id: string, conns: unknown, rates: unknown, now: number): void {
    if (!Array.isArray(conns)) return;
    let node = this.nodes.get(id);
    if (!node) {
      if (this.nodes.size >= MAX_NODES) return;
      this.nodes.set(id, (node = { id, seenAt: now, connections: new Map() }));
      // A node just started (or just heard of): it learns this one's counts now, not at the next heartbeat.
      if (now - this.lastReportAt >= 250) this.report();
    }
    node.seenAt = now;
    for (const pair of conns.slice(0, MAX_APPS_PER_REPORT)) {
      if (!Array.isArray(pair) || !isId(pair[0]) || !isCount(pair[1])) continue;
      if (pair[1] === 0) node.connections.delete(pair[0]);
      else node.connections.set(pair[0], pair[1]);
    }
    if (!Array.isArray(rates)) return;
    for (const triple of rates.slice(0, MAX_APPS_PER_REPORT)) {
      if (!Array.isArray(triple) || !isId(triple[0]) || !isCount(triple[1]) || !isCount(triple[2])) continue;
      // Rates feed this node's per-app history: only for apps it serves, so the history stays bounded.
      if (!this.engine.apps.byId(triple[0])) continue;
      const sum = this.remoteRates.get(triple[0]) ?? { delivered: 0, published: 0 };
      sum.delivered += triple[1];
      sum.published += triple[2];
      this.remoteRates.set(triple[0], sum);
    }
  }

  private onFeed(node: string, entries: unknown, dropped: unknown): void {
    if (!Array.isArray(entries)) return;
    const valid: LogEntry[] = [];
    for (const raw of entries.slice(0, FORWARD_PER_SECOND)) {
      const entry = validEntry(raw, node);
      if (entry) valid.push(entry);
    }
    const droppedByApp = new Map<string, number>();
    if (Array.isArray(dropped)) {
      for (const pair of dropped.slice(0, MAX_WATCHED_APPS)) {
        if (Array.isArray(pair) && isId(pair[0]) && isCount(pair[1])) droppedByApp.set(pair[0], pair[1]);
      }
    }
    if (valid.length > 0 || droppedByApp.size > 0) this.entriesListener(node, valid, droppedByApp);
  }
}

function sameWatch(a: Set<string> | '*' | undefined, b: Set<string> | '*' | undefined): boolean {
  if (a === undefined || b === undefined || a === '*' || b === '*') return a === b;
  return a.size === b.size && [...a].every((x) => b.has(x));
}

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 200;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const optionalText = (v: unknown, max: number): string | undefined => (typeof v === 'string' ? v.slice(0, max) : undefined);

/** A feed entry from another node, with only the known fields, each of a bounded size. */
function validEntry(raw: unknown, node: string): LogEntry | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const e = raw as Record<string, unknown>;
  if (!isCount(e.at) || !isId(e.appId) || !KINDS.has(e.kind as LogKind) || typeof e.text !== 'string') return undefined;
  const entry: LogEntry = { at: e.at, appId: e.appId, kind: e.kind as LogKind, text: e.text.slice(0, MAX_TEXT), node };
  const channel = optionalText(e.channel, 200);
  const socketId = optionalText(e.socketId, 64);
  const event = optionalText(e.event, 200);
  const data = optionalText(e.data, MAX_DATA);
  const status = optionalText(e.status, 32);
  if (channel !== undefined) entry.channel = channel;
  if (socketId !== undefined) entry.socketId = socketId;
  if (event !== undefined) entry.event = event;
  if (data !== undefined) entry.data = data;
  if (status !== undefined) entry.status = status;
  return entry;
}
