/**
 * What a connection's handshake must carry (spec A.1) once its path has named an app key: a known,
 * enabled app, a supported `protocol`, a plain `version`. Pure; the engine applies it to every
 * transport's handshake (WebSocket and the HTTP fallbacks), and the WebSocket handshake parser
 * (transports/websocket/handshake.ts) applies it before a connection exists.
 */
import { CloseCode } from './errors.js';

/** A Pusher close code and its reason: how a handshake is refused. */
export interface Refusal {
  code: number;
  reason: string;
}

export interface HandshakeParameters {
  appKey: string;
  protocol: string | undefined;
  version?: string | undefined;
}

/** pusher-js sends its library version (`8.6.0`); anything else short and plain is let through. */
const VERSION_FORMAT = /^[0-9A-Za-z.+_-]{1,32}$/;

/**
 * The app the handshake may connect to, or its refusal, checked in the spec's order: 4001 unknown
 * key, 4003 disabled app, 4008 no protocol, 4007 a protocol outside 4-7, 4006 a malformed version.
 */
export function checkHandshake<A extends { enabled: boolean }>(
  app: A | undefined,
  request: HandshakeParameters,
): ({ ok: true; app: A }) | ({ ok: false } & Refusal) {
  if (!app) return { ok: false, code: CloseCode.AppNotFound, reason: `App key ${request.appKey} not in this cluster` };
  if (!app.enabled) return { ok: false, code: CloseCode.AppDisabled, reason: 'Application disabled' };
  const { protocol, version } = request;
  if (protocol === undefined || protocol === '') return { ok: false, code: CloseCode.NoProtocol, reason: 'No protocol version supplied' };
  const number = /^\d{1,3}$/.test(protocol) ? Number(protocol) : NaN;
  if (!(number >= 4 && number <= 7)) return { ok: false, code: CloseCode.UnsupportedProtocol, reason: `Unsupported protocol version ${protocol}` };
  if (version !== undefined && !VERSION_FORMAT.test(version)) return { ok: false, code: CloseCode.InvalidVersion, reason: 'Invalid version string format' };
  return { ok: true, app };
}
