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
  /** Lower-case names, one value each (duplicates are handed off). */
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
 * Visible ASCII, space, tab and CRLF line ends only: control bytes, a bare CR or LF and obs-text
 * are Node's to judge.
 */
const UNUSUAL_BYTE = /[^\t\r\n\x20-\x7e]|\r(?!\n)|(?<!\r)\n/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const DIGITS = /^\d{1,15}$/;
/** Methods whose lean handling is defined; the rest (HEAD, OPTIONS, PUT…) go to Node. */
const LEAN_METHODS = new Set(['GET', 'POST', 'DELETE']);
/** Headers whose presence alone means Node must handle the request. */
const NODE_ONLY_HEADERS = new Set(['transfer-encoding', 'upgrade', 'expect', 'te', 'trailer', 'http2-settings']);

/** Reads the head starting at `start` of `buf`. */
export function readRequestHead(buf: Buffer, start: number): HeadResult {
  const end = buf.indexOf(CRLF2, start);
  if (end < 0) return buf.length - start > MAX_HEAD_BYTES ? 'handOff' : 'incomplete';
  if (end - start > MAX_HEAD_BYTES) return 'handOff';
  // latin1: one char per byte, so a stray non-ASCII byte is seen (and handed off), never decoded.
  const text = buf.toString('latin1', start, end);
  if (UNUSUAL_BYTE.test(text)) return 'handOff';
  const lineEnd = text.indexOf('\r\n');
  const line = lineEnd < 0 ? text : text.slice(0, lineEnd);
  const requestLine = readRequestLine(line);
  if (!requestLine) return 'handOff';
  const headers = lineEnd < 0 ? {} : readHeaders(text, lineEnd + 2);
  if (!headers || headers.host === undefined) return 'handOff';
  const length = headers['content-length'];
  if (length !== undefined && !DIGITS.test(length)) return 'handOff';
  const connection = headers.connection?.toLowerCase();
  if (connection !== undefined && connection.includes('upgrade')) return 'handOff';
  return {
    method: requestLine.method,
    url: requestLine.url,
    headers,
    contentLength: length === undefined ? 0 : Number(length),
    keepAlive: connection === undefined || !connection.includes('close'),
    bodyStart: end + 4,
  };
}

function readRequestLine(line: string): { method: string; url: string } | undefined {
  const firstSpace = line.indexOf(' ');
  const lastSpace = line.lastIndexOf(' ');
  if (firstSpace <= 0 || lastSpace === firstSpace) return undefined;
  if (line.slice(lastSpace + 1) !== 'HTTP/1.1') return undefined;
  const method = line.slice(0, firstSpace);
  const url = line.slice(firstSpace + 1, lastSpace);
  if (!LEAN_METHODS.has(method) || url.charCodeAt(0) !== 0x2f /* / */ || url.includes(' ')) return undefined;
  return { method, url };
}

/** Header lines from `from` to the end of `text`; undefined when any of them needs Node. */
function readHeaders(text: string, from: number): Record<string, string> | undefined {
  const headers: Record<string, string> = {};
  let count = 0;
  let at = from;
  while (at < text.length) {
    let next = text.indexOf('\r\n', at);
    if (next < 0) next = text.length;
    const colon = text.indexOf(':', at);
    if (colon <= at || colon > next || ++count > MAX_HEADERS) return undefined;
    const rawName = text.slice(at, colon);
    if (!TOKEN.test(rawName)) return undefined;
    const name = rawName.toLowerCase();
    if (NODE_ONLY_HEADERS.has(name) || headers[name] !== undefined) return undefined;
    headers[name] = text.slice(colon + 1, next).trim();
    at = next + 2;
  }
  return headers;
}
