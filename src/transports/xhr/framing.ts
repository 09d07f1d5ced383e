/**
 * The wire format of pusher-js's HTTP fallback transports (`xhr_streaming`, `xhr_polling`): the
 * SockJS framing pusher-js's HTTPSocket reads (core/http/http_socket.ts). Pure: no I/O.
 *
 * Every frame is one line: a type letter, a JSON payload, `\n`.
 *   o            session opened (pusher-js: CONNECTING → OPEN; a second `o` means "server lost session")
 *   a["…","…"]   messages; each element is one Pusher protocol frame as text
 *   h            heartbeat (streaming: pusher-js answers with an empty xhr_send)
 *   c[code,"…"]  session closed with a Pusher close code (pusher-js treats it like a WebSocket close)
 */

export const OPEN_FRAME = 'o\n';
export const HEARTBEAT_FRAME = 'h\n';
/**
 * Sent first on a streaming response, as SockJS does: some browsers and proxies hold back a
 * response's first bytes until about 2 KB have arrived. pusher-js reads it as heartbeats, which it
 * ignores until the session is open.
 */
export const STREAMING_PRELUDE = 'h'.repeat(2048) + '\n';

export function messagesFrame(texts: readonly string[]): string {
  return 'a' + JSON.stringify(texts) + '\n';
}

export function closeFrame(code: number, reason: string): string {
  return 'c' + JSON.stringify([code, reason]) + '\n';
}

/** Session path segments pusher-js generates: `{0-999}/{8 base-32 characters}`; SockJS allows any non-dot text. */
const SEGMENT = /^[A-Za-z0-9_-]{1,32}$/;

export function validSessionSegments(server: string, session: string): boolean {
  return SEGMENT.test(server) && SEGMENT.test(session);
}

/**
 * Messages one xhr_send body may carry. pusher-js sends one per request (`["<frame>"]`, or `[]` as a
 * heartbeat); a 256 KiB body of tiny invalid messages was 60 000 engine calls and error frames (the
 * better part of a second of CPU) for one request anyone holding the public app key could send.
 */
export const MAX_SEND_MESSAGES = 10;

export type SendBody = { ok: true; messages: string[] } | { ok: false; error: string };

/**
 * An xhr_send body: a JSON array of message strings (pusher-js sends `["<frame>"]`, and `[]` as a
 * heartbeat). Anything else is refused whole, so a bad body never delivers half its messages.
 */
export function parseSendBody(body: string): SendBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { ok: false, error: 'Broken JSON encoding: the body must be a JSON array of strings' };
  }
  if (!Array.isArray(parsed)) return { ok: false, error: 'The body must be a JSON array of strings' };
  if (parsed.length > MAX_SEND_MESSAGES) return { ok: false, error: `Too many messages in one xhr_send body: ${parsed.length} (limit ${MAX_SEND_MESSAGES})` };
  for (const item of parsed) {
    if (typeof item !== 'string') return { ok: false, error: 'Every element of the body must be a string (one Pusher message)' };
  }
  return { ok: true, messages: parsed as string[] };
}

/**
 * The routing key of an xhr request path, `{key}/{server}/{session}`, or undefined for any other
 * path: every request with the same key must reach the process that holds the session. For a
 * multi-worker supervisor or a balancer that hashes it (docs/protocol.md, "stickiness").
 */
export function xhrSessionKey(path: string): string | undefined {
  const match = /\/app\/([^/?]+)\/([^/?]+)\/([^/?]+)\/(?:xhr_streaming|xhr|xhr_send)(?:\?|$)/.exec(path);
  if (!match || !validSessionSegments(match[2]!, match[3]!)) return undefined;
  return `${match[1]}/${match[2]}/${match[3]}`;
}
