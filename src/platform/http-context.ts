/** Builds the per-request context and writes responses. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { ApiContext, HttpContext, RequestLike, Responder } from './router.js';
import { invalid, tooLarge } from './errors.js';
import { JSON_DEPTH_MESSAGE, jsonTextTooDeep } from '../protocol/json-depth.js';

/**
 * Query parameters one request may carry. Every client sends fewer than ten (a signed Pusher API
 * call: auth_key, auth_timestamp, auth_version, auth_signature, body_md5, info, filter_by_prefix);
 * thousands of them made the signature check (which sorts them) cost tens of milliseconds before
 * the signature was known to be wrong.
 */
export const MAX_QUERY_PARAMS = 100;

export function parseQuery(search: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  // Index arithmetic rather than split('&') and per-part slices: one substring per key and value
  // (this runs for every request, and signed API queries have five or more parameters).
  let start = 0;
  while (start < search.length) {
    let end = search.indexOf('&', start);
    if (end < 0) end = search.length;
    if (end > start) {
      if (out.length === MAX_QUERY_PARAMS) throw invalid(`Too many query parameters (limit ${MAX_QUERY_PARAMS})`);
      const eq = search.indexOf('=', start);
      if (eq < 0 || eq > end) out.push([decodeLoose(search.slice(start, end)), '']);
      else out.push([decodeLoose(search.slice(start, eq)), decodeLoose(search.slice(eq + 1, end))]);
    }
    start = end + 1;
  }
  return out;
}

function decodeLoose(value: string): string {
  // Most values (signatures, timestamps, keys) need no decoding at all.
  if (value.indexOf('%') < 0 && value.indexOf('+') < 0) return value;
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw invalid('Malformed percent-encoding in the query string');
  }
}

/**
 * Per-request state; a class so a request costs one object, not one closure per accessor.
 * Subclasses say where the body comes from (Node's request stream, or the lean path's buffer).
 */
abstract class RequestState {
  readonly method: string;
  readonly path: string;
  params: Record<string, string> = {};
  readonly query: Array<[string, string]>;
  readonly requestId: string;
  /** Set once the whole body is in (by readBody just before its promise resolves: no extra turn). */
  bodyRead: Buffer | undefined = undefined;

  constructor(req: RequestLike) {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    this.path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    this.query = parseQuery(q < 0 ? '' : rawUrl.slice(q + 1));
    const given = req.headers['x-request-id'];
    this.requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : nextRequestId();
    const method = req.method ?? 'GET';
    // llhttp already upper-cases standard methods; only unusual input needs the copy.
    this.method = method === 'POST' || method === 'GET' ? method : method.toUpperCase();
  }

  abstract body(): Promise<Buffer>;

  queryValue(name: string): string | undefined {
    for (const [k, v] of this.query) if (k === name) return v;
    return undefined;
  }

  async json<T>(): Promise<T> {
    return parseJsonBody<T>(await this.body());
  }

  bodyJson<T>(): T {
    if (this.bodyRead === undefined) throw new Error('bodyJson() before the body was read');
    return parseJsonBody<T>(this.bodyRead);
  }
}

/** A request Node's HTTP server parsed: the body is read from its stream on demand. */
class NodeRequestContext extends RequestState implements HttpContext {
  private bodyPromise: Promise<Buffer> | undefined = undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    private readonly maxBodyBytes: number,
  ) {
    super(req);
  }

  body(): Promise<Buffer> {
    this.bodyPromise ??= readBody(this.req, this.maxBodyBytes, this);
    return this.bodyPromise;
  }
}

/** A request of the lean path (platform/http1): its body arrived whole before the handler runs. */
class LeanRequestContext extends RequestState implements ApiContext {
  constructor(
    readonly req: RequestLike,
    readonly res: Responder,
    body: Buffer,
  ) {
    super(req);
    this.bodyRead = body;
  }

  body(): Promise<Buffer> {
    return Promise.resolve(this.bodyRead!);
  }
}

function parseJsonBody<T>(body: Buffer): T {
  if (body.length === 0) throw invalid('Request body must be JSON');
  const text = body.toString('utf8');
  let parsed: T;
  try {
    parsed = JSON.parse(text) as T;
  } catch {
    throw invalid('Request body is not valid JSON');
  }
  // Checked on valid JSON only (cheap: two native searches for brackets, a scan only past 100 of them).
  if (jsonTextTooDeep(text)) throw invalid(JSON_DEPTH_MESSAGE);
  return parsed;
}

const REQUEST_ID = /^[\w.-]{1,64}$/;

/**
 * Generated request ids are UUID-shaped (version 4, variant 1): the first 20 hex digits come from
 * one random UUID per process and the last 12 count requests: unique within a node by the counter,
 * across nodes by the random prefix. They correlate log lines, they are not secrets; a counter
 * increment costs less than a randomUUID() per request (2-3 % of a publish's CPU in profiles).
 */
const REQUEST_ID_PREFIX = randomUUID().slice(0, 24);
let requestCounter = Math.floor(Math.random() * 2 ** 32);

function nextRequestId(): string {
  requestCounter = (requestCounter + 1) % 2 ** 48;
  return REQUEST_ID_PREFIX + requestCounter.toString(16).padStart(12, '0');
}

export function createContext(req: IncomingMessage, res: ServerResponse, maxBodyBytes: number): HttpContext {
  return new NodeRequestContext(req, res, maxBodyBytes);
}

export function createLeanContext(req: RequestLike, res: Responder, body: Buffer): ApiContext {
  return new LeanRequestContext(req, res, body);
}

function readBody(req: IncomingMessage, limit: number, into: { bodyRead: Buffer | undefined }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      reject(tooLarge(`Request body too large (limit ${limit} bytes)`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge(`Request body too large (limit ${limit} bytes)`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (failed) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      into.bodyRead = body;
      resolve(body);
    });
    req.on('error', (err) => {
      if (!failed) reject(invalid(`Could not read request body: ${err.message}`));
    });
  });
}

export function sendJson(res: Responder, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  // Every 429 says when to come back; the rate limits are per second, so one second is enough.
  if (status === 429 && headers['Retry-After'] === undefined && !res.hasHeader('Retry-After')) res.setHeader('Retry-After', '1');
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendText(res: Responder, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
