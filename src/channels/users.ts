/** User sign-in and watchlists (spec A.3 pusher:signin, watchlist_events; A.13). */
import { CloseCode, ErrorCode } from '../protocol/errors.js';
import { encodeObjectEvent } from '../protocol/messages.js';
import { userAuthString, verifyAuth } from '../protocol/signatures.js';
import type { AppState } from './app-state.js';
import type { Connection } from './connection.js';
import type { ChannelsEngine } from './engine.js';
import { markAuthorized } from './authorized-connections.js';
import { clusterSignIn, clusterSignOut } from './cluster-users.js';

/** Synchronous on a single node; when clustered, resolves once the watchlist snapshot is sent. */
export function signIn(engine: ChannelsEngine, state: AppState, conn: Connection, raw: unknown): void | Promise<void> {
  const data = (raw && typeof raw === 'object' ? raw : {}) as { auth?: unknown; user_data?: unknown };
  const fail = (message: string) => conn.sendError(message, CloseCode.Unauthorized);
  if (typeof data.user_data !== 'string') return fail('pusher:signin needs data.user_data (a JSON string)');
  const signed = userAuthString(conn.socketId, data.user_data);
  if (!verifyAuth(data.auth, signed, conn.app.credentials)) {
    return fail(`Invalid signature: Expected HMAC SHA256 hex digest of ${signed.slice(0, 300)}, but got ${String(data.auth).slice(0, 200)}`);
  }
  let user: { id?: unknown; user_info?: unknown; watchlist?: unknown };
  try {
    user = JSON.parse(data.user_data) as typeof user;
  } catch {
    return fail('user_data must be a JSON object');
  }
  if (typeof user?.id !== 'string' || user.id.length === 0) return fail('user_data.id must be a non-empty string');
  if (user.id.length > conn.app.limits.maxUserIdLength) return fail(`user id too long (limit ${conn.app.limits.maxUserIdLength})`);
  if (conn.user && conn.user.id !== user.id) return fail(`Connection is already signed in as a different user`);
  if (user.watchlist !== undefined && (!Array.isArray(user.watchlist) || user.watchlist.some((w) => typeof w !== 'string'))) {
    return fail('user_data.watchlist must be an array of user ids');
  }
  const fullWatchlist = [...new Set((user.watchlist as string[] | undefined) ?? [])];
  const limit = conn.app.limits.maxWatchlistSize;
  const watchlist = fullWatchlist.slice(0, limit);

  // Signing in again as the same user (e.g. a new watchlist) must not blip offline/online to watchers.
  const cameOnline = !state.users.has(user.id);
  if (conn.user) signOut(engine, state, conn, { stayingOnline: true });
  conn.user = { id: user.id, userData: data.user_data, userInfo: user.user_info, watchlist };
  markAuthorized(conn);
  let conns = state.users.get(user.id);
  if (!conns) {
    conns = new Set();
    state.users.set(user.id, conns);
  }
  conns.add(conn);
  for (const watched of watchlist) {
    let set = state.watchers.get(watched);
    if (!set) state.watchers.set(watched, (set = new Set()));
    set.add(user.id);
  }

  conn.sendText(encodeObjectEvent('pusher:signin_success', undefined, { user_data: data.user_data, auth: data.auth }));
  if (fullWatchlist.length > limit) {
    conn.sendError(`Watchlist limit exceeded: only the first ${limit} user ids are watched`, ErrorCode.WatchlistLimit);
  }
  engine.emit('signedIn', conn.app, conn.socketId, user.id);
  // Clustered: online status and the watchlist snapshot are cluster-wide.
  if (engine.cluster) return clusterSignIn(engine, state, conn, user.id, watchlist);

  if (conn.app.watchlistEvents && watchlist.length > 0) {
    // Current status of everyone on the watchlist, then changes as they happen.
    const online = watchlist.filter((id) => state.users.has(id));
    const offline = watchlist.filter((id) => !state.users.has(id));
    const events = [];
    if (online.length) events.push({ name: 'online', user_ids: online });
    if (offline.length) events.push({ name: 'offline', user_ids: offline });
    conn.sendText(encodeObjectEvent('pusher_internal:watchlist_events', undefined, { events }));
  }
  if (cameOnline) notifyWatchers(state, user.id, 'online');
}

/** Removes the connection's user identity (on disconnect or re-sign-in). */
export function signOut(engine: ChannelsEngine, state: AppState, conn: Connection, options: { stayingOnline?: boolean } = {}): void {
  const user = conn.user;
  if (!user) return;
  conn.user = undefined;
  if (engine.cluster) clusterSignOut(engine, state, conn, options.stayingOnline === true);
  const conns = state.users.get(user.id);
  if (!conns) return;
  conns.delete(conn);
  // Connections of one user may carry different watchlists: keep the ids another one still watches.
  const stillWatched = new Set<string>();
  for (const other of conns) for (const id of other.user?.watchlist ?? []) stillWatched.add(id);
  for (const watched of user.watchlist) {
    if (stillWatched.has(watched)) continue;
    const set = state.watchers.get(watched);
    if (!set) continue;
    set.delete(user.id);
    if (set.size === 0) state.watchers.delete(watched);
  }
  if (conns.size > 0) return;
  state.users.delete(user.id);
  if (!options.stayingOnline && !engine.cluster) notifyWatchers(state, user.id, 'offline');
}

function notifyWatchers(state: AppState, userId: string, status: 'online' | 'offline'): void {
  if (!state.app.watchlistEvents) return;
  const watchers = state.watchers.get(userId);
  if (!watchers) return;
  const text = encodeObjectEvent('pusher_internal:watchlist_events', undefined, { events: [{ name: status, user_ids: [userId] }] });
  for (const watcherId of watchers) {
    for (const conn of state.users.get(watcherId) ?? []) {
      if (conn.user?.watchlist.includes(userId)) conn.sendText(text);
    }
  }
}
