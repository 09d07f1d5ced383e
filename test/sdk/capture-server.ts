/** A loopback HTTP server that records requests and answers with a canned response (port 0). */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CapturedRequest {
  method: string;
  /** Path plus query exactly as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface CannedResponse {
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  /** Never answer (for timeout tests). */
  hang?: boolean;
}

export interface CaptureServer {
  port: number;
  origin: string;
  requests: CapturedRequest[];
  /** Resolves with the next request that arrives (or the oldest one not yet taken). */
  next(): Promise<CapturedRequest>;
  respondWith(response: CannedResponse | ((req: CapturedRequest) => CannedResponse)): void;
  /** TCP connections accepted so far (for connection-reuse tests). */
  connections(): number;
  close(): Promise<void>;
}

export async function startCaptureServer(): Promise<CaptureServer> {
  const requests: CapturedRequest[] = [];
  const waiting: Array<(req: CapturedRequest) => void> = [];
  const queued: CapturedRequest[] = [];
  let responder: (req: CapturedRequest) => CannedResponse = () => ({ status: 200, body: '{}' });

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const captured: CapturedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(captured);
      const waiter = waiting.shift();
      if (waiter) waiter(captured);
      else queued.push(captured);
      const answer = responder(captured);
      if (answer.hang) return;
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body ?? '{}');
    });
  });
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    connections: () => connections,
    origin: `http://127.0.0.1:${port}`,
    requests,
    next() {
      const ready = queued.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no request arrived within 5 s')), 5000);
        waiting.push((req) => {
          clearTimeout(timer);
          resolve(req);
        });
      });
    },
    respondWith(response) {
      responder = typeof response === 'function' ? response : () => response;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
