/**
 * A small HTTP/1.1 client for FCM and Web Push: keep-alive connection pools per protocol, bounded
 * sockets per origin, a timeout, cancellation, and a cap on response bodies (gateways answer with
 * short JSON; anything bigger is cut off rather than buffered).
 */
import http from 'node:http';
import https from 'node:https';

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface HttpClientOptions {
  maxSocketsPerOrigin: number;
  timeoutMs: number;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

export class HttpClient {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(private readonly options: HttpClientOptions) {
    const agentOptions = { keepAlive: true, maxSockets: options.maxSocketsPerOrigin, maxFreeSockets: options.maxSocketsPerOrigin, scheduling: 'lifo' as const };
    this.httpAgent = new http.Agent(agentOptions);
    this.httpsAgent = new https.Agent(agentOptions);
  }

  request(url: string, init: { method: string; headers: Record<string, string | number>; body?: string | Buffer; signal?: AbortSignal }): Promise<HttpResponse> {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const lib = secure ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(
        target,
        { method: init.method, headers: init.headers, agent: secure ? this.httpsAgent : this.httpAgent, timeout: this.options.timeoutMs, signal: init.signal },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no response within ${this.options.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(init.body);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
