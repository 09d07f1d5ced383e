/**
 * One webhook request (spec C.1): body `{"time_ms":…,"events":[…]}` serialized once and signed
 * byte for byte, `Content-Type: application/json` exactly (the pusher SDK's validator compares the
 * string), `X-Pusher-Key` and `X-Pusher-Signature` (HMAC-SHA256 hex of the body with the app secret).
 */
import http from 'node:http';
import https from 'node:https';
import { hmacSha256Hex } from '../protocol/signatures.js';

export interface SignedRequest {
  body: Buffer;
  headers: Record<string, string>;
}

/** Builds the body from already-serialized events and signs it. */
export function buildSignedRequest(
  credentials: { key: string; secret: string },
  timeMs: number,
  serializedEvents: readonly string[],
  extraHeaders: Record<string, string> = {},
): SignedRequest {
  const body = Buffer.from(`{"time_ms":${timeMs},"events":[${serializedEvents.join(',')}]}`, 'utf8');
  return {
    body,
    headers: {
      ...extraHeaders,
      'Content-Type': 'application/json',
      'Content-Length': String(body.length),
      'User-Agent': 'Herald-Webhooks',
      'X-Pusher-Key': credentials.key,
      'X-Pusher-Signature': hmacSha256Hex(credentials.secret, body),
    },
  };
}

export interface PostResult {
  ok: boolean;
  statusCode?: number;
  latencyMs: number;
  error?: string;
  /**
   * The failure says the receiver as a whole is unavailable (connection refused/reset, timeout,
   * 429, 502–504), not that this batch was refused: the dispatcher then pauses the endpoint
   * instead of trying its other channels right away.
   */
  endpointDown: boolean;
}

const MAX_ERROR_BODY = 300;

/** Keep-alive connection pools; one pair per webhook service so stopping it closes its sockets. */
export class WebhookHttpClient {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16, timeout: 60_000 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 16, timeout: 60_000 });
  private readonly inFlight = new Set<http.ClientRequest>();

  /** POSTs and resolves with the outcome; never rejects. Redirects are not followed (a failure). */
  post(url: string, request: SignedRequest, timeoutMs: number): Promise<PostResult> {
    const started = performance.now();
    const latency = () => performance.now() - started;
    return new Promise<PostResult>((resolve) => {
      let settled = false;
      const finish = (result: Omit<PostResult, 'latencyMs'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inFlight.delete(req);
        resolve({ ...result, latencyMs: latency() });
      };
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        resolve({ ok: false, error: 'invalid URL', endpointDown: true, latencyMs: 0 });
        return;
      }
      const secure = target.protocol === 'https:';
      let req: http.ClientRequest;
      try {
        req = (secure ? https : http).request(target, {
          method: 'POST',
          headers: request.headers,
          agent: secure ? this.httpsAgent : this.httpAgent,
        });
      } catch (err) {
        // e.g. a header value Node refuses: a configuration problem, not a receiver outage.
        resolve({ ok: false, error: (err as Error).message, endpointDown: false, latencyMs: 0 });
        return;
      }
      this.inFlight.add(req);
      const timer = setTimeout(() => {
        finish({ ok: false, error: `timeout after ${timeoutMs} ms`, endpointDown: true });
        req.destroy();
      }, timeoutMs);
      timer.unref();
      req.on('error', (err: NodeJS.ErrnoException) => {
        finish({ ok: false, error: err.code ? `${err.code}: ${err.message}` : err.message, endpointDown: true });
      });
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          // Only the start of an error body is kept (for the delivery log); the rest is discarded.
          if (size < MAX_ERROR_BODY) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('error', (err) => finish({ ok: false, statusCode: status, error: err.message, endpointDown: true }));
        res.on('end', () => {
          if (status >= 200 && status < 300) {
            finish({ ok: true, statusCode: status, endpointDown: false });
            return;
          }
          const text = Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BODY).replace(/\s+/g, ' ').trim();
          finish({
            ok: false,
            statusCode: status,
            error: `HTTP ${status}${text ? `: ${text}` : ''}`,
            endpointDown: status === 429 || status === 502 || status === 503 || status === 504,
          });
        });
      });
      req.end(request.body);
    });
  }

  /** Aborts requests in flight and closes pooled sockets. */
  close(): void {
    for (const req of this.inFlight) req.destroy(new Error('webhook service stopped'));
    this.inFlight.clear();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
