/**
 * The WebSocket gateway end to end without a network: the real engine (test/channels/fake.ts'
 * harness) and real `ws`, over an in-memory stream that records the bytes a client would read.
 * What the gateway adds on top of its parts: a refused handshake is closed with its Pusher code,
 * frames sent before a close precede the close frame, and a client that stops reading is cut off
 * with 4100 without its backlog being written.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { harness } from '../../channels/fake.js';
import { OutboundMessage, type ConnectionTransport } from '../../../src/channels/transport.js';
import type { FrameSocket } from '../../../src/transports/websocket/frame-writer.js';
import { SLOW_CLIENT_CLOSE, WebSocketGateway } from '../../../src/transports/websocket/gateway.js';
import { nextPass } from './fake-socket.js';

// Compile-time: what the gateway writes to (node:net sockets) satisfies the write path's interface.
((socket: Socket): FrameSocket => socket) satisfies unknown;

/** The server end of a connection: what the server writes is what the client reads (`wire`). */
class WireSocket extends Duplex {
  readonly wire: Buffer[] = [];
  /** Set: the client stopped reading; writes wait (Node keeps them in writableLength). */
  hold = false;
  private readonly waiting: Array<() => void> = [];
  override _read(): void {}
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.wire.push(chunk);
    if (this.hold) this.waiting.push(done);
    else done();
  }
  /** The client reads again: everything Node holds is written. */
  drain(): void {
    this.hold = false;
    while (this.waiting.length > 0) this.waiting.shift()!();
  }
}

interface Frame {
  opcode: number;
  payload: Buffer;
}

/** The server's frames after the 101 response (unmasked, as RFC 6455 requires of a server). */
function framesOf(socket: WireSocket): Frame[] {
  const bytes = Buffer.concat(socket.wire);
  const end = bytes.indexOf('\r\n\r\n');
  assert.match(bytes.subarray(0, end).toString(), /^HTTP\/1\.1 101 /);
  const frames: Frame[] = [];
  let at = end + 4;
  while (at < bytes.length) {
    const opcode = bytes[at]! & 0x0f;
    let length = bytes[at + 1]! & 0x7f;
    at += 2;
    if (length === 126) {
      length = bytes.readUInt16BE(at);
      at += 2;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(at));
      at += 8;
    }
    frames.push({ opcode, payload: bytes.subarray(at, at + length) });
    at += length;
  }
  return frames;
}

const texts = (frames: Frame[]) => frames.filter((f) => f.opcode === 1).map((f) => f.payload.toString());
const closeOf = (frame: Frame | undefined) => {
  assert.equal(frame?.opcode, 8, 'a close frame');
  return { code: frame.payload.readUInt16BE(0), reason: frame.payload.subarray(2).toString() };
};

/** Every stream opened, destroyed after each test (ws' close timers end with them). */
const opened: WireSocket[] = [];

function upgrade(gateway: WebSocketGateway, url: string): WireSocket {
  const socket = new WireSocket();
  opened.push(socket);
  const req = {
    method: 'GET',
    url,
    headers: { host: 'herald.test', upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
  } as unknown as IncomingMessage;
  gateway.handleUpgrade(req, socket, Buffer.alloc(0));
  return socket;
}

afterEach(() => {
  for (const socket of opened.splice(0)) socket.destroy();
});

function setUp(maxBufferedBytes = 1024 * 1024) {
  const h = harness();
  const refused: number[] = [];
  h.engine.observe({ connectionRefused: (_key, code) => void refused.push(code) });
  const gateway = new WebSocketGateway(h.engine, { wsPath: '', maxFrameBytes: 10_000, maxBufferedBytes });
  const transportOf = () => [...gateway.connections][0] as unknown as ConnectionTransport & { readyState: number };
  return { gateway, refused, transportOf, clock: h.clock };
}

interface Accepted {
  gateway: WebSocketGateway;
  /** The server end: push() is what the client sends, framesOf() what it has read. */
  socket: WireSocket;
  transport: ConnectionTransport & { readyState: number };
  clock: ReturnType<typeof setUp>['clock'];
}

/** A socket whose handshake at `url` was accepted (connection_established written); the gateway is torn down after `body`. */
async function withAccepted(body: (accepted: Accepted) => Promise<void>, options: { url?: string; maxBufferedBytes?: number } = {}): Promise<void> {
  const { gateway, transportOf, clock } = setUp(options.maxBufferedBytes);
  try {
    const socket = upgrade(gateway, options.url ?? '/app/k?protocol=7');
    await nextPass();
    await body({ gateway, socket, transport: transportOf(), clock });
  } finally {
    gateway.terminateAll();
  }
}

/** An accepted socket whose client has stopped reading (writes wait in Node), with `maxBufferedBytes` = limit. */
function withHeldSocket(limit: number, body: (held: Accepted) => Promise<void>): Promise<void> {
  return withAccepted(
    (accepted) => {
      accepted.socket.hold = true;
      return body(accepted);
    },
    { maxBufferedBytes: limit },
  );
}

/** A client frame as RFC 6455 §5.3 requires it: masked (a zero mask keeps the payload readable). */
function clientFrame(opcode: number, payload: string): Buffer {
  const bytes = Buffer.from(payload);
  assert.ok(bytes.length < 126);
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | bytes.length, 0, 0, 0, 0]), bytes]);
}

test('a refused handshake is closed with its Pusher code, and reported as refused', async () => {
  const { gateway, refused } = setUp();
  try {
    const cases: Array<[string, number, string]> = [
      ['/app/nope?protocol=7', 4001, 'App key nope not in this cluster'],
      ['/app/k?protocol=3', 4007, 'Unsupported protocol version 3'],
      ['/elsewhere', 4005, 'Path not found'],
    ];
    for (const [url, code, reason] of cases) {
      const socket = upgrade(gateway, url);
      await nextPass();
      const frames = framesOf(socket);
      assert.equal(frames.length, 1, `${url}: only the close frame`);
      assert.deepEqual(closeOf(frames[0]), { code, reason }, url);
    }
    assert.deepEqual(refused, [4001, 4007], 'a path that names no app is not an app refusal');
    assert.equal(gateway.connections.size, 0);
  } finally {
    gateway.terminateAll();
  }
});

test('a refusal whose reason would echo a long key or protocol still closes with its code (reason cut to 123 bytes)', async () => {
  // ws throws when a close reason exceeds RFC 6455's 123 bytes; from the upgrade handler that
  // used to crash the process, so any client could stop Herald with a long URL.
  const { gateway } = setUp();
  try {
    const cases: Array<[string, number]> = [
      [`/app/${'k'.repeat(200)}?protocol=7`, 4001],
      [`/app/k?protocol=${'x'.repeat(200)}`, 4007],
      [`/app/${'é'.repeat(100)}?protocol=7`, 4001],
    ];
    for (const [url, code] of cases) {
      const socket = upgrade(gateway, url);
      await nextPass();
      const close = closeOf(framesOf(socket)[0]);
      assert.equal(close.code, code, url.slice(0, 40));
      assert.ok(Buffer.byteLength(close.reason) <= 123, 'a valid close frame');
      assert.ok(!close.reason.includes('\ufffd'), 'cut on a character boundary');
    }
  } finally {
    gateway.terminateAll();
  }
});

test('an accepted handshake gets connection_established, then what it is sent, one pass at a time', () =>
  withAccepted(async ({ socket, transport }) => {
    const [established] = texts(framesOf(socket));
    assert.equal(JSON.parse(established!).event, 'pusher:connection_established');
    transport.deliver(new OutboundMessage('{"event":"a"}'));
    transport.deliver(new OutboundMessage('{"event":"b"}'));
    await nextPass();
    assert.deepEqual(texts(framesOf(socket)).slice(1), ['{"event":"a"}', '{"event":"b"}']);
  }, { url: '/app/k?protocol=7&client=js&version=8.6.0' }));

test('a binary frame is refused with pusher:error but still counts as client activity (spec A.4: any frame does)', () =>
  withAccepted(async ({ gateway, socket, clock }) => {
    const ws = [...gateway.connections][0] as unknown as { connection: { lastActivity: number } };
    clock.advance(60_000);
    socket.push(clientFrame(2, '{"event":"pusher:ping"}'));
    await nextPass();
    const [, refusal] = texts(framesOf(socket));
    assert.equal(JSON.parse(refusal!).event, 'pusher:error');
    assert.equal(ws.connection.lastActivity, clock.now(), 'the activity timer restarted');
  }));

test('a ping is answered with a pong carrying its payload, behind the frames already queued, and counts as activity', () =>
  withAccepted(async ({ gateway, socket, transport, clock }) => {
    const ws = [...gateway.connections][0] as unknown as { connection: { lastActivity: number } };
    clock.advance(60_000);
    transport.deliver(new OutboundMessage('{"event":"queued first"}'));
    socket.push(clientFrame(9, 'are you there?'));
    await nextPass();
    const frames = framesOf(socket).slice(1);
    assert.deepEqual(
      frames.map((f) => [f.opcode, f.payload.toString()]),
      [
        [1, '{"event":"queued first"}'],
        [10, 'are you there?'],
      ],
    );
    assert.equal(ws.connection.lastActivity, clock.now(), 'the activity timer restarted');
    clock.advance(1_000);
    socket.push(clientFrame(10, 'unsolicited pong'));
    await nextPass();
    assert.equal(ws.connection.lastActivity, clock.now(), 'a pong is activity too');
  }));

test('a client that pings without reading the pongs is cut off with 4100 like any client that stops reading', async () => {
  const ping = clientFrame(9, 'p'.repeat(125));
  await withHeldSocket(4 * 1024, async ({ socket, transport }) => {
    let pings = 0;
    while (transport.readyState === 1 && pings < 1000) {
      socket.push(Buffer.concat(Array.from({ length: 10 }, () => ping)));
      pings += 10;
      await nextPass();
    }
    assert.notEqual(transport.readyState, 1, `cut off after ${pings} pings`);
    socket.drain();
    assert.deepEqual(closeOf(framesOf(socket).at(-1)), SLOW_CLIENT_CLOSE);
  });
});

test('frames that arrive together or split across reads are all handled; a drained receive queue is a fresh array; the listener table is compact', () =>
  withAccepted(async ({ gateway, socket }) => {
    const receiver = () => ([...gateway.connections][0] as unknown as { _receiver: { _buffers: Buffer[] } })._receiver;
    const queueBefore = receiver()._buffers;
    const ping = (n: number) => clientFrame(1, `{"event":"pusher:ping","data":{"n":${n}}}`);
    // Two frames in one read, then one frame in two reads (its second half with a third frame).
    socket.push(Buffer.concat([ping(1), ping(2)]));
    const split = ping(3);
    socket.push(split.subarray(0, 7));
    await nextPass();
    assert.equal(receiver()._buffers.length, 1, 'half a frame waits in the queue');
    socket.push(Buffer.concat([split.subarray(7), ping(4)]));
    await nextPass();
    const pongs = texts(framesOf(socket)).filter((text) => JSON.parse(text).event === 'pusher:pong');
    assert.equal(pongs.length, 4, 'every ping answered');
    assert.equal(receiver()._buffers.length, 0);
    assert.notEqual(receiver()._buffers, queueBefore, 'the queue that held chunks was replaced (its backing store goes with it)');
    // The Receiver's listener table is the compact one (its six events, none of Node's placeholders).
    const events = (receiver() as unknown as { _events: object })._events;
    assert.deepEqual(Object.keys(events), ['conclude', 'drain', 'error', 'message', 'ping', 'pong']);
    assert.equal((events as { toString?: unknown }).toString, undefined, 'nothing inherited, as with Node\'s table');
  }));

test('a socket closes once: the engine hears of it, and other listeners of its close still do', () =>
  withAccepted(async ({ gateway, socket, transport }) => {
    let heard = 0;
    (transport as unknown as { once(event: 'close', listener: () => void): void }).once('close', () => heard++);
    socket.destroy();
    for (let pass = 0; pass < 100 && gateway.connections.size > 0; pass++) await nextPass();
    assert.equal(gateway.connections.size, 0, 'released');
    assert.equal(heard, 1);
  }));

test('flush-before-close: frames sent in the pass of a close precede the close frame', () =>
  withAccepted(async ({ socket, transport }) => {
    transport.deliver(new OutboundMessage('{"event":"pusher:error","data":{"code":4009}}'));
    transport.deliver(new OutboundMessage('{"event":"last"}'));
    transport.closeWith(4009, 'Connection is unauthorized');
    transport.deliver(new OutboundMessage('{"event":"after the close"}'));
    await nextPass();
    const frames = framesOf(socket);
    assert.deepEqual(texts(frames).slice(1), ['{"event":"pusher:error","data":{"code":4009}}', '{"event":"last"}']);
    assert.deepEqual(closeOf(frames.at(-1)), { code: 4009, reason: 'Connection is unauthorized' }, 'the close frame is last');
  }));

test('backpressure: a client that stops reading is closed with 4100; its backlog is dropped, not written', async () => {
  const limit = 64 * 1024;
  await withHeldSocket(limit, async ({ socket, transport }) => {
    const payload = 'x'.repeat(10 * 1024);
    let sent = 0;
    while (transport.readyState === 1 && sent < 100) {
      transport.deliver(new OutboundMessage(`{"n":${sent++},"p":"${payload}"}`));
      await nextPass();
    }
    assert.notEqual(transport.readyState, 1, `cut off (${sent} frames sent)`);
    socket.drain(); // the client reads again: it gets what Node held, then the close frame
    const frames = framesOf(socket);
    assert.deepEqual(closeOf(frames.at(-1)), SLOW_CLIENT_CLOSE);
    assert.equal(SLOW_CLIENT_CLOSE.code, 4100);
    const received = texts(frames).slice(1).map((t) => JSON.parse(t).n as number);
    assert.deepEqual(received, received.map((_, i) => i), 'in order, none skipped before the cut');
    assert.ok(received.length < sent, `the backlog was dropped (${received.length} of ${sent} written)`);
    assert.ok(received.length * payload.length <= limit + 2 * payload.length, 'at most about the limit was ever handed to Node');
  });
});
