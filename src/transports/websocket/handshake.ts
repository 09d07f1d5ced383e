/**
 * The WebSocket handshake as a pure function (spec A.1): the request line's path and query and the
 * Origin header in, the engine's connect request or a Pusher close code out. No socket, no engine:
 * the gateway applies the result (close with the code, or connect).
 *
 *   {wsPath}/app/{key}?protocol=7&client=js&version=8.6.0&flash=false
 *
 * Refusals, in the order they are checked: 4005 a path that is not /app/{key}, 4009 an Origin the
 * app does not allow (apps/origins.ts), then protocol/handshake.ts: 4001 unknown key, 4003 disabled
 * app, 4008 no protocol, 4007 unsupported protocol, 4006 malformed version. Connection quotas (4004,
 * 4100) depend on what is open, so the gateway and the engine check them afterwards.
 */
import type { App } from '../../apps/app.js';
import { originRefusal } from '../../apps/origins.js';
import type { ConnectRequest } from '../../channels/engine.js';
import { CloseCode } from '../../protocol/errors.js';
import { checkHandshake, type Refusal } from '../../protocol/handshake.js';
import { parseQuery } from '../../platform/http-context.js';

export interface HandshakeRequest {
  /** The request target: path and query (`req.url`). */
  url: string;
  /** The Origin header (browsers send it; other clients usually do not). */
  origin: string | string[] | undefined;
}

export type Handshake =
  | { ok: true; request: ConnectRequest }
  /** `appKey` is set once the path named one (refusals are then reported as the app's). */
  | ({ ok: false; appKey: string | undefined } & Refusal);

const APP_PATH = /^\/app\/([^/]+)\/?$/;

export function parseHandshake(request: HandshakeRequest, wsPath: string, appByKey: (key: string) => App | undefined): Handshake {
  const url = request.url;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const match = path.startsWith(wsPath) ? APP_PATH.exec(path.slice(wsPath.length)) : null;
  if (!match) return { ok: false, appKey: undefined, code: CloseCode.PathNotFound, reason: 'Path not found' };
  const appKey = safeDecode(match[1]!);
  const app = appByKey(appKey);
  const originDenied = originRefusal(app, request.origin);
  if (originDenied) return { ok: false, appKey, ...originDenied };
  const { values: query, problem } = queryOf(q < 0 ? '' : url.slice(q + 1));
  const connect: ConnectRequest = { appKey, protocol: query.get('protocol'), version: query.get('version'), client: query.get('client') };
  const checked = checkHandshake(app, connect);
  if (!checked.ok) {
    // A query that could not be read has no protocol either: 4008, with the reason it was unreadable.
    const reason = checked.code === CloseCode.NoProtocol && problem ? `No protocol version read: ${problem}` : checked.reason;
    return { ok: false, appKey, code: checked.code, reason };
  }
  return { ok: true, request: connect };
}

/** The first value of each parameter; a malformed query (or one of over 100 parameters) counts as none, with why. */
function queryOf(search: string): { values: Map<string, string>; problem?: string } {
  const values = new Map<string, string>();
  let pairs: Array<[string, string]>;
  try {
    pairs = parseQuery(search);
  } catch (err) {
    return { values, problem: err instanceof Error ? err.message : String(err) };
  }
  for (const [name, value] of pairs) if (!values.has(name)) values.set(name, value);
  return { values };
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
