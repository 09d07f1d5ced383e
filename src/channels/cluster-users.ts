/**
 * Sign-in and watchlists when the engine is clustered: "online" means signed in on any node.
 * Each signed-in socket counts once in the cluster state; the first one cluster-wide broadcasts
 * `online`, the last one `offline`, and every node tells its local watchers. The watchlist
 * snapshot a socket gets at sign-in is as of a revision; older broadcasts are not sent to it.
 */
import { encodeObjectEvent } from '../protocol/messages.js';
import type { BrokerMessage } from '../scaling/broker.js';
import type { AppState } from './app-state.js';
import { enqueue, trimMap } from './cluster-ops.js';
import type { Connection } from './connection.js';
import type { ChannelsEngine } from './engine.js';

interface OnlineRecord {
  userId: string;
  token: string | undefined;
}

const onlineRecords = new WeakMap<Connection, OnlineRecord>();
/** Revision of the watchlist snapshot each socket got. */
const snapshotRevisions = new WeakMap<Connection, number>();
/** Newest status revision applied per watched user, per app. */
const statusRevisions = new WeakMap<AppState, Map<string, number>>();

/** Called by signIn after the local bookkeeping and signin_success; resolves when the watchlist is sent. */
export function clusterSignIn(engine: ChannelsEngine, state: AppState, conn: Connection, userId: string, watchlist: string[]): Promise<void> {
  const previous = onlineRecords.get(conn);
  const record: OnlineRecord = { userId, token: undefined };
  onlineRecords.set(conn, record);
  return enqueue(engine, conn, async () => {
    const cluster = engine.cluster!;
    const app = state.app;
    const watched = app.watchlistEvents ? watchlist : [];
    const result = await cluster.userOnline(app.id, userId, watched);
    if (result.ok) record.token = result.token;
    // Re-sign-in: count the new identity before releasing the old one, so watchers see no blip.
    if (previous?.token) await release(engine, state, previous);
    if (!result.ok) return;
    if (result.cameOnline) engine.broker.publish({ type: 'user-status', appId: app.id, userId, online: true, revision: result.revision });
    if (conn.closed || onlineRecords.get(conn) !== record || watched.length === 0) return;
    snapshotRevisions.set(conn, result.snapshotRevision);
    const online = new Set(result.online);
    const events = [];
    const on = watched.filter((id) => online.has(id));
    const off = watched.filter((id) => !online.has(id));
    if (on.length) events.push({ name: 'online', user_ids: on });
    if (off.length) events.push({ name: 'offline', user_ids: off });
    conn.sendText(encodeObjectEvent('pusher_internal:watchlist_events', undefined, { events }));
  });
}

/** Called by signOut. A re-sign-in (`stayingOnline`) is released by the sign-in that follows. */
export function clusterSignOut(engine: ChannelsEngine, state: AppState, conn: Connection, stayingOnline: boolean): void {
  if (stayingOnline) return;
  const record = onlineRecords.get(conn);
  if (!record) return;
  onlineRecords.delete(conn);
  snapshotRevisions.delete(conn);
  void enqueue(engine, conn, () => release(engine, state, record));
}

async function release(engine: ChannelsEngine, state: AppState, record: OnlineRecord): Promise<void> {
  if (!record.token) return;
  const result = await engine.cluster!.userOffline(state.app.id, record.userId, record.token);
  record.token = undefined;
  if (result.ok && result.wentOffline) {
    engine.broker.publish({ type: 'user-status', appId: state.app.id, userId: record.userId, online: false, revision: result.revision });
  }
}

export function onUserStatus(state: AppState, message: Extract<BrokerMessage, { type: 'user-status' }>): void {
  if (!state.app.watchlistEvents) return;
  const watchers = state.watchers.get(message.userId);
  if (!watchers) return;
  let revisions = statusRevisions.get(state);
  if (!revisions) statusRevisions.set(state, (revisions = new Map()));
  if (message.revision <= (revisions.get(message.userId) ?? 0)) return;
  revisions.set(message.userId, message.revision);
  trimMap(revisions, 8192);
  const frame = encodeObjectEvent('pusher_internal:watchlist_events', undefined, {
    events: [{ name: message.online ? 'online' : 'offline', user_ids: [message.userId] }],
  });
  for (const watcherId of watchers) {
    for (const conn of state.users.get(watcherId) ?? []) {
      if (!conn.user?.watchlist.includes(message.userId)) continue;
      if ((snapshotRevisions.get(conn) ?? 0) >= message.revision) continue;
      conn.sendText(frame);
    }
  }
}
