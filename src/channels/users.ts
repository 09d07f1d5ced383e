/** User sign-in and watchlists (spec A.3 pusher:signin, watchlist_events; A.13). */
import { CloseCode, ErrorCode } from '../protocol/errors.js';
import { encodeObjectEvent } from '../protocol/messages.js';
import { JSON_DEPTH_MESSAGE, jsonTextTooDeep } from '../protocol/json-depth.js';
import { userAuthString, verifyAuth } from '../protocol/signatures.js';
import type { AppState } from './app-state.js';
import { andThen, type MaybePromise } from '../scaling/maybe-promise.js';
import type { Connection, OnlineRecord } from './connection.js';
import type { ChannelsEngine } from './engine.js';
import { markAuthorized } from './authorized-connections.js';

/** Synchronous on in-memory backends; otherwise resolves once the watchlist snapshot is sent. */
export function signIn(engine: ChannelsEngine, state: AppState, conn: Connection, raw: unknown): MaybePromise<void> {
  const data = (raw && typeof raw === 'object' ? raw : {}) as { auth?: unknown; user_data?: unknown };
  const fail = (message: string) => conn.sendError(message, CloseCode.Unauthorized);
  if (typeof data.user_data !== 'string') return fail('pusher:signin needs data.user_data (a JSON string)');
  const signed = userAuthString(conn.socketId, data.user_data);
  if (!verifyAuth(data.auth, signed, conn.app.credentials)) {
    return fail(`Invalid signature: Expected HMAC SHA256 hex digest of ${signed.slice(0, 300)}, but got ${String(data.auth).slice(0, 200)}`);
  }
  // user_info is serialized again (presence members, user events): nested thousands deep it overflowed the stack.
  if (jsonTextTooDeep(data.user_data)) return fail(`user_data: ${JSON_DEPTH_MESSAGE}`);
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
  const previous = conn.online;
  if (conn.user) signOut(engine, state, conn, { stayingOnline: true });
  state.hub.addUser(conn, { id: user.id, userData: data.user_data, userInfo: user.user_info, watchlist });
  markAuthorized(conn);

  conn.sendText(encodeObjectEvent('pusher:signin_success', undefined, { user_data: data.user_data, auth: data.auth }));
  if (fullWatchlist.length > limit) {
    conn.sendError(`Watchlist limit exceeded: only the first ${limit} user ids are watched`, ErrorCode.WatchlistLimit);
  }
  engine.emit('signedIn', conn.app, conn.socketId, user.id);
  return comeOnline(engine, state, conn, user.id, watchlist, previous);
}

/**
 * "Online" means signed in on any node: each signed-in socket counts once in UserPresence; the
 * first one cluster-wide broadcasts `online`, the last one `offline`, and every node tells its
 * local watchers. The watchlist snapshot a socket gets is as of a revision; older broadcasts are
 * not sent to it. Resolves (in memory: returns) once the snapshot is sent.
 */
function comeOnline(engine: ChannelsEngine, state: AppState, conn: Connection, userId: string, watchlist: string[], previous: OnlineRecord | undefined): MaybePromise<void> {
  const record: OnlineRecord = { userId, token: undefined };
  conn.online = record;
  return conn.inOrder(() => {
    const app = state.app;
    const watched = app.watchlistEvents ? watchlist : [];
    return andThen(engine.userPresence.userOnline(app.id, userId, watched), (result) => {
      if (result.ok) record.token = result.token;
      // Re-sign-in: count the new identity before releasing the old one, so watchers see no blip.
      return andThen(previous?.token ? goOffline(engine, state, previous) : undefined, () => {
        if (!result.ok) return;
        if (!conn.closed && conn.online === record && watched.length > 0) {
          conn.watchlistRevision = result.snapshotRevision;
          const online = new Set(result.online);
          const events = [];
          const on = watched.filter((id) => online.has(id));
          const off = watched.filter((id) => !online.has(id));
          if (on.length) events.push({ name: 'online', user_ids: on });
          if (off.length) events.push({ name: 'offline', user_ids: off });
          conn.sendText(encodeObjectEvent('pusher_internal:watchlist_events', undefined, { events }));
        }
        if (result.cameOnline) void engine.control.send({ type: 'user-status', appId: app.id, userId, online: true, revision: result.revision });
      });
    });
  }, engine.reportError);
}

/** Removes the connection's user identity (on disconnect or re-sign-in; a re-sign-in is released by the sign-in that follows). */
export function signOut(engine: ChannelsEngine, state: AppState, conn: Connection, options: { stayingOnline?: boolean } = {}): void {
  if (!state.hub.removeUser(conn) || options.stayingOnline) return;
  const record = conn.online;
  if (!record) return;
  conn.online = undefined;
  conn.watchlistRevision = 0;
  void conn.inOrder(() => goOffline(engine, state, record), engine.reportError);
}

function goOffline(engine: ChannelsEngine, state: AppState, record: OnlineRecord): MaybePromise<void> {
  if (!record.token) return;
  const token = record.token;
  record.token = undefined;
  return andThen(engine.userPresence.userOffline(state.app.id, record.userId, token), (result) => {
    if (result.ok && result.wentOffline) {
      void engine.control.send({ type: 'user-status', appId: state.app.id, userId: record.userId, online: false, revision: result.revision });
    }
  });
}
