/**
 * The lean request path in front of a real http.Server, over real sockets: what it serves, what it
 * hands to Node (with every unread byte), ordering, partial input, limits, deadlines and closing.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { LEAN_MAX_BODY_BYTES, LeanHttpFront, type LeanFrontOptions } from '../../src/platform/http1/front.js';
import type { LeanResponse } from '../../src/platform/http1/response.js';
import { LeanResponseWriter } from '../../src/server/lean-writer.js';

interface Started {
  server: Server;
  front: LeanHttpFront<string>;
  port: number;
  /** Responses the test answers itself, by URL (the others answer at once). */
  held: Map<string, LeanResponse>;
}

const running: Started[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) {
    s.front.closeAll();
    s.server.closeAllConnections();
    await new Promise((resolve) => s.server.close(resolve));
  }
});

/** Routes starting with /lean are lean; /lean/hold/… answer when the test says. Node answers `node <url>`. */
async function start(options: Partial<LeanFrontOptions<string>> = {}): Promise<Started> {
  const server = createServer((req, res) => {
    let size = 0;
    req.on('data', (chunk: Buffer) => (size += chunk.length));
    req.on('end', () => res.end(`node ${req.method} ${req.url} ${size}`));
  });
  const held = new Map<string, LeanResponse>();
  const front = new LeanHttpFront<string>(server, {
    route: (head) => (head.url.startsWith('/lean') ? head.url : undefined),
    serve: (url, req, res, body) => {
      if (url.startsWith('/lean/hold')) return void held.set(url, res);
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`lean ${req.method} ${url} ${body.toString()}`);
    },
    maxBodyBytes: 1024 * 1024,
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    keepAliveTimeoutMs: 65_000,
    checkIntervalMs: 1000,
    timeoutResponse: () => 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
    ...options,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const started = { server, front, port: (server.address() as AddressInfo).port, held };
  running.push(started);
  return started;
}

/** A raw client that splits what it receives into HTTP responses (Content-Length bodies). */
class RawHttp {
  readonly socket: Socket;
  private received = '';
  private readonly waiters: Array<() => void> = [];
  ended = false;
  readonly closed: Promise<void>;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.on('data', (text: string) => {
      this.received += text;
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.socket.on('end', () => {
      this.ended = true;
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => this.socket.on('close', () => resolve()));
  }

  send(text: string): void {
    this.socket.write(text, 'latin1');
  }

  /** The next `count` complete responses (status line, headers lower-cased, body). */
  async responses(count: number): Promise<Array<{ status: number; headers: Record<string, string>; body: string }>> {
    const out: Array<{ status: number; headers: Record<string, string>; body: string }> = [];
    while (out.length < count) {
      const parsed = this.takeResponse();
      if (parsed) {
        out.push(parsed);
        continue;
      }
      if (this.ended) throw new Error(`connection ended after ${out.length} of ${count} responses; left: ${JSON.stringify(this.received)}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return out;
  }

  /** Resolves when the server ends the connection; what arrived before is returned. */
  async untilEnd(): Promise<string> {
    while (!this.ended) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.received;
  }

  private takeResponse(): { status: number; headers: Record<string, string>; body: string } | undefined {
    const end = this.received.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const [statusLine, ...lines] = this.received.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    if (this.received.length < end + 4 + length) return undefined;
    const body = this.received.slice(end + 4, end + 4 + length);
    this.received = this.received.slice(end + 4 + length);
    return { status: Number(statusLine!.split(' ')[1]), headers, body };
  }
}

const get = (url: string, extra = '') => `GET ${url} HTTP/1.1\r\nHost: t\r\n${extra}\r\n`;
const post = (url: string, body: string, extra = '') => `POST ${url} HTTP/1.1\r\nHost: t\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

test('pipelined lean requests are answered in order on one connection, with Date and keep-alive', async () => {
  const { port, front } = await start();
  const client = new RawHttp(port);
  client.send(get('/lean/1') + post('/lean/2', '{"a":1}') + get('/lean/3'));
  const [a, b, c] = await client.responses(3);
  assert.deepEqual([a!.body, b!.body, c!.body], ['lean GET /lean/1 ', 'lean POST /lean/2 {"a":1}', 'lean GET /lean/3 ']);
  assert.equal(a!.status, 200);
  assert.equal(a!.headers['content-type'], 'text/plain');
  assert.equal(a!.headers.connection, 'keep-alive');
  assert.equal(a!.headers['keep-alive'], 'timeout=65');
  assert.ok(!Number.isNaN(Date.parse(a!.headers.date!)), 'a Date header');
  assert.equal(front.stats.served, 3);
  assert.equal(front.stats.handedOff, 0);
  client.socket.destroy();
});

test('at the first request it does not serve, the connection and every unread byte go to Node for good', async () => {
  const { port, front } = await start();
  const client = new RawHttp(port);
  // Lean, then Node's, then one the lean path would serve: Node has the connection by then.
  client.send(get('/lean/a') + post('/node/b', 'xyz') + get('/lean/c'));
  const [a, b, c] = await client.responses(3);
  assert.equal(a!.body, 'lean GET /lean/a ');
  assert.equal(b!.body, 'node POST /node/b 3');
  assert.equal(c!.body, 'node GET /lean/c 0');
  assert.equal(front.stats.served, 1);
  assert.equal(front.stats.handedOff, 1);
  assert.equal(front.size, 0, 'no longer tracked by the lean path');
  client.socket.destroy();
});

test('a request that arrives a byte at a time, head and body, is served once it is complete', async () => {
  const { port } = await start();
  const client = new RawHttp(port);
  client.socket.setNoDelay(true);
  const text = post('/lean/slow', 'hello body');
  for (const ch of text) {
    client.send(ch);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const [r] = await client.responses(1);
  assert.equal(r!.body, 'lean POST /lean/slow hello body');
  client.socket.destroy();
});

test('bodies over the lean limit, chunked bodies and HTTP/1.0 are served by Node', async () => {
  const { port, front } = await start();
  const big = new RawHttp(port);
  big.send(post('/lean/big', 'x'.repeat(LEAN_MAX_BODY_BYTES + 1)));
  assert.equal((await big.responses(1))[0]!.body, `node POST /lean/big ${LEAN_MAX_BODY_BYTES + 1}`);
  const chunked = new RawHttp(port);
  chunked.send('POST /lean/chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
  assert.equal((await chunked.responses(1))[0]!.body, 'node POST /lean/chunked 3');
  const old = new RawHttp(port);
  old.send('GET /lean/old HTTP/1.0\r\nHost: t\r\n\r\n');
  assert.match(await old.untilEnd(), /node GET \/lean\/old 0$/);
  assert.equal(front.stats.served, 0);
  for (const c of [big, chunked]) c.socket.destroy();
});

test('an answer that comes later still goes out before the next pipelined request\'s', async () => {
  const { port, held } = await start();
  const client = new RawHttp(port);
  client.send(get('/lean/hold/1') + get('/lean/now'));
  while (!held.has('/lean/hold/1')) await new Promise((resolve) => setImmediate(resolve));
  held.get('/lean/hold/1')!.writeHead(202).end('late');
  const [first, second] = await client.responses(2);
  assert.equal(first!.status, 202);
  assert.equal(first!.body, 'late');
  assert.equal(second!.body, 'lean GET /lean/now ');
  client.socket.destroy();
});

test('Connection: close is answered with Connection: close and the server ends the connection', async () => {
  const { port } = await start();
  const client = new RawHttp(port);
  client.send(get('/lean/bye', 'Connection: close\r\n'));
  const [r] = await client.responses(1);
  assert.equal(r!.headers.connection, 'close');
  await client.untilEnd();
});

test('a client that half-closes after its requests gets every answer, then the end', async () => {
  const { port } = await start();
  const client = new RawHttp(port);
  client.send(get('/lean/x') + get('/lean/y'));
  client.socket.end();
  const [x, y] = await client.responses(2);
  assert.deepEqual([x!.body, y!.body], ['lean GET /lean/x ', 'lean GET /lean/y ']);
  await client.untilEnd();
});

test('a head that does not complete within headersTimeout gets the 408 answer and the connection ends', async () => {
  const { port } = await start({ headersTimeoutMs: 100, checkIntervalMs: 25 });
  const client = new RawHttp(port);
  client.send('GET /lean/x HTTP/1.1\r\nHo');
  assert.match(await client.untilEnd(), /^HTTP\/1\.1 408 Request Timeout\r\n/);
});

test('a body that does not complete within requestTimeout gets the 408 answer', async () => {
  const { port } = await start({ headersTimeoutMs: 60_000, requestTimeoutMs: 100, checkIntervalMs: 25 });
  const client = new RawHttp(port);
  client.send('POST /lean/x HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc');
  assert.match(await client.untilEnd(), /^HTTP\/1\.1 408 Request Timeout\r\n/);
});

test('an idle keep-alive connection is closed after keepAliveTimeout, without an answer', async () => {
  const { port } = await start({ keepAliveTimeoutMs: 100, checkIntervalMs: 25 });
  const client = new RawHttp(port);
  client.send(get('/lean/once'));
  await client.responses(1);
  assert.equal(await client.untilEnd(), '', 'the connection ends with nothing after the response');
});

test('closeIdle ends idle lean connections and makes the response in flight the last (Connection: close)', async () => {
  const { port, front, held } = await start();
  const idle = new RawHttp(port);
  idle.send(get('/lean/a'));
  await idle.responses(1);
  const busy = new RawHttp(port);
  busy.send(get('/lean/hold/b'));
  while (!held.has('/lean/hold/b')) await new Promise((resolve) => setImmediate(resolve));
  front.closeIdle();
  await idle.untilEnd();
  held.get('/lean/hold/b')!.end('done');
  const [r] = await busy.responses(1);
  assert.equal(r!.headers.connection, 'close');
  await busy.untilEnd();
});

for (const [writerName, openWriter] of [
  ['socket.write per response', undefined],
  ['the pass-batched WebSocket write path', (socket: Socket) => new LeanResponseWriter(socket)],
] as const) {
  test(`a client that stops reading (${writerName}): pipelined requests wait, nothing is lost once it reads again`, async () => {
    const { port, front } = await start(openWriter ? { openWriter } : {});
    const client = new RawHttp(port);
    client.socket.pause();
    const body = 'y'.repeat(60_000);
    const count = 40;
    client.send(Array.from({ length: count }, (_, i) => post(`/lean/${i}`, body)).join(''));
    // The server answers into the socket buffers while the client reads nothing.
    while (front.stats.served < 10) await new Promise((resolve) => setImmediate(resolve));
    client.socket.resume();
    const answers = await client.responses(count);
    assert.deepEqual(answers.map((a) => a.body.slice(0, 12)), Array.from({ length: count }, (_, i) => `lean POST /lean/${i} `.slice(0, 12)));
    client.socket.destroy();
  });
}

test('with the pass-batched writer, answers queued in a pass still precede Node\'s after a hand-off, and Connection: close ends after them', async () => {
  const { port } = await start({ openWriter: (socket) => new LeanResponseWriter(socket) });
  const client = new RawHttp(port);
  client.send(get('/lean/1') + get('/lean/2') + get('/node/3') + get('/lean/4', 'Connection: close\r\n'));
  const answers = await client.responses(4);
  assert.deepEqual(answers.map((a) => a.body), ['lean GET /lean/1 ', 'lean GET /lean/2 ', 'node GET /node/3 0', 'node GET /lean/4 0']);
  await client.untilEnd();
  const closing = new RawHttp(port);
  closing.send(get('/lean/a') + get('/lean/b', 'Connection: close\r\n'));
  assert.deepEqual((await closing.responses(2)).map((a) => a.body), ['lean GET /lean/a ', 'lean GET /lean/b ']);
  await closing.untilEnd();
});
