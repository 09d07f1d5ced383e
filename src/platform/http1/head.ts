/**
 * A strict reader of HTTP/1.1 request heads for the lean request path (front.ts). Pure: no I/O.
 *
 * It accepts only the plain shape every API client sends (request line, unique well-formed
 * headers, a Content-Length body or none) and answers `handOff` for everything else: HTTP/1.0,
 * chunked bodies, Expect, upgrades, duplicate or malformed headers, oversized heads. Node's own
 * HTTP server then parses the same bytes from the start, so every unusual request keeps exactly
 * Node's behaviour (its errors, limits and features) and this reader never has to be lenient.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** Node's default maxHeaderSize: a head this long without its end goes to Node (431 there). */
export const MAX_HEAD_BYTES = 16 * 1024;
/** Headers a lean request may carry; a request with more goes to Node (SDKs send under ten). */
export const MAX_HEADERS = 64;

export interface RequestHead {
  method: string;
  /** The request target as received (path and query). */
  url: string;
  /**
   * The headers the lean path keeps (KEPT_BY_LENGTH: host, content-length, content-type,
   * connection, origin, x-request-id, authorization, user-agent), lower-case names, one value each.
   */
  headers: IncomingHttpHeaders;
  /** Body length from Content-Length (0 without one). */
  contentLength: number;
  /** False when the client sent `Connection: close`. */
  keepAlive: boolean;
  /** Offset just past the blank line that ends the head. */
  bodyStart: number;
}

export type HeadResult = RequestHead | 'incomplete' | 'handOff';

const CRLF2 = Buffer.from('\r\n\r\n');
/**
 * The whole head in the plain shape, checked in one pass: a request line with a lean method
 * (GET/POST/DELETE; HEAD, OPTIONS, PUT… go to Node), an origin-form target of visible characters
 * and HTTP/1.1, then `token:value` header lines of visible characters, spaces and tabs, separated
 * by CRLF. A bare CR or LF, control bytes, obs-text and obs-fold do not match. The classes on
 * either side of each separator are disjoint, so the match never backtracks.
 */
const PLAIN_HEAD = /^(?:GET|POST|DELETE) \/[!-~]* HTTP\/1\.1(?:\r\n[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e]*)*$/;
const DIGITS = /^\d{1,15}$/;
const REQUEST_LINE_SUFFIX = ' HTTP/1.1'.length;

/** Reads the head starting at `start` of `buf`. */
export function readRequestHead(buf: Buffer, start: number): HeadResult {
  const end = buf.indexOf(CRLF2, start);
  if (end < 0) return buf.length - start > MAX_HEAD_BYTES ? 'handOff' : 'incomplete';
  if (end - start > MAX_HEAD_BYTES) return 'handOff';
  // latin1: one char per byte, so a stray non-ASCII byte is seen (and handed off), never decoded.
  const text = buf.toString('latin1', start, end);
  if (!PLAIN_HEAD.test(text)) return 'handOff';
  let lineEnd = text.indexOf('\r\n');
  if (lineEnd < 0) lineEnd = text.length;
  const space = text.indexOf(' ');
  const headers = readHeaders(text, lineEnd + 2);
  if (!headers || headers.host === undefined) return 'handOff';
  if (headers['transfer-encoding'] !== undefined || headers.upgrade !== undefined || headers.expect !== undefined) return 'handOff';
  if (headers.te !== undefined || headers.trailer !== undefined || headers['http2-settings'] !== undefined) return 'handOff';
  const length = headers['content-length'];
  if (length !== undefined && !DIGITS.test(length)) return 'handOff';
  const connection = headers.connection?.toLowerCase();
  if (connection !== undefined && connection.includes('upgrade')) return 'handOff';
  return {
    method: text.slice(0, space),
    url: text.slice(space + 1, lineEnd - REQUEST_LINE_SUFFIX),
    headers,
    contentLength: length === undefined ? 0 : Number(length),
    keepAlive: connection === undefined || !connection.includes('close'),
    bodyStart: end + 4,
  };
}

/**
 * Headers the lean path keeps (what lean routes and the dispatcher read, and what decides whether
 * the request is lean), by name length so that most other headers cost one length check. A lean
 * route sees only these (Router.addLean says so); every other header is skipped unread.
 */
const KEPT_BY_LENGTH: ReadonlyMap<number, readonly string[]> = groupByLength([
  'host', 'content-length', 'content-type', 'connection', 'origin', 'x-request-id', 'authorization', 'user-agent',
  // Present means Node's: they are kept only to be seen.
  'transfer-encoding', 'upgrade', 'expect', 'te', 'trailer', 'http2-settings',
]);

function groupByLength(names: string[]): Map<number, string[]> {
  const byLength = new Map<number, string[]>();
  for (const name of names) byLength.set(name.length, [...(byLength.get(name.length) ?? []), name]);
  return byLength;
}

/**
 * The kept header lines from `from` to the end of `text` (PLAIN_HEAD has checked their shape);
 * undefined when a kept one repeats (Node joins or refuses repeats) or there are too many lines.
 */
function readHeaders(text: string, from: number): IncomingHttpHeaders | undefined {
  const headers: Record<string, string> = {};
  let count = 0;
  let at = from;
  while (at < text.length) {
    let next = text.indexOf('\r\n', at);
    if (next < 0) next = text.length;
    if (++count > MAX_HEADERS) return undefined;
    const colon = text.indexOf(':', at);
    const candidates = KEPT_BY_LENGTH.get(colon - at);
    if (candidates !== undefined) {
      const name = text.slice(at, colon).toLowerCase();
      if (candidates.includes(name)) {
        if (headers[name] !== undefined) return undefined;
        headers[name] = text.slice(colon + 1, next).trim();
      }
    }
    at = next + 2;
  }
  return headers;
}
