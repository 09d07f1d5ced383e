/** Builds the per-request context and writes responses. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { HttpError, type HttpContext } from './router.js';

export function parseQuery(search: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (!search) return out;
  for (const part of search.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    out.push([decodeLoose(rawKey), decodeLoose(rawValue)]);
  }
  return out;
}

function decodeLoose(value: string): string {
  // Most values (signatures, timestamps, keys) need no decoding at all.
  if (value.indexOf('%') < 0 && value.indexOf('+') < 0) return value;
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw new HttpError(400, 'Malformed percent-encoding in the query string');
  }
}

export function createContext(req: IncomingMessage, res: ServerResponse, maxBodyBytes: number): HttpContext {
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = parseQuery(q < 0 ? '' : rawUrl.slice(q + 1));
  let bodyPromise: Promise<Buffer> | undefined;
  const requestId = (typeof req.headers['x-request-id'] === 'string' && /^[\w.-]{1,64}$/.test(req.headers['x-request-id'])
    ? req.headers['x-request-id']
    : randomUUID());
  const ctx: HttpContext = {
    req,
    res,
    method: (req.method ?? 'GET').toUpperCase(),
    path,
    params: {},
    query,
    requestId,
    queryValue(name) {
      for (const [k, v] of query) if (k === name) return v;
      return undefined;
    },
    body() {
      bodyPromise ??= readBody(req, maxBodyBytes);
      return bodyPromise;
    },
    async json<T>() {
      const body = await ctx.body();
      if (body.length === 0) throw new HttpError(400, 'Request body must be JSON');
      try {
        return JSON.parse(body.toString('utf8')) as T;
      } catch {
        throw new HttpError(400, 'Request body is not valid JSON');
      }
    },
  };
  return ctx;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      reject(new HttpError(413, `Request body too large (limit ${limit} bytes)`));
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
        reject(new HttpError(413, `Request body too large (limit ${limit} bytes)`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!failed) reject(new HttpError(400, `Could not read request body: ${err.message}`));
    });
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
