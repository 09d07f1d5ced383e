/**
 * Authorized connections (spec A.14, per-app `userAuthentication.required`): a connection must
 * sign in, or subscribe to a private, presence or encrypted channel, within
 * `userAuthentication.timeoutMs`; otherwise it gets `pusher:error` 4009 and is closed with 4009.
 */
import { CloseCode } from '../protocol/errors.js';
import type { Connection } from './connection.js';

export const NOT_AUTHORIZED_IN_TIME = 'Connection not authorized within timeout';

import type { Clock } from '../scaling/clock.js';

/**
 * Starts the deadline of a new connection. A per-connection timer gives the configured precision
 * (the engine's activity sweep also calls `closeIfUnauthorized` as a backstop). The timer holds
 * the connection only weakly, so a socket that closes early is not kept alive until the deadline.
 */
export function armAuthorizationDeadline(clock: Clock, conn: Connection, now: number): void {
  const { timeoutMs } = conn.app.userAuthentication;
  conn.authDeadline = now + timeoutMs;
  const ref = new WeakRef(conn);
  clock.setTimeout(() => {
    const target = ref.deref();
    if (target) closeIfUnauthorized(target, clock.now());
  }, timeoutMs);
}

/** A successful sign-in or authorized subscription ends the deadline for good. */
export function markAuthorized(conn: Connection): void {
  conn.authDeadline = 0;
}

/** Closes the connection with 4009 if its deadline has passed; returns true when it did. */
export function closeIfUnauthorized(conn: Connection, now: number): boolean {
  if (conn.closed || conn.authDeadline === 0 || conn.user || now < conn.authDeadline) return false;
  // Turning the feature off for the app spares connections that are still waiting.
  if (!conn.app.userAuthentication.required) {
    conn.authDeadline = 0;
    return false;
  }
  conn.sendError(NOT_AUTHORIZED_IN_TIME, CloseCode.Unauthorized);
  conn.close(CloseCode.Unauthorized, NOT_AUTHORIZED_IN_TIME);
  return true;
}
