/** Slow consumers, per-IP connection limits and connect/subscribe/disconnect churn. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { startTestHerald } from '../helpers/herald.js';
import { RawClient } from '../helpers/raw-client.js';
import { eventually, withTimeout } from '../helpers/wait.js';
import { hmacSha256Hex } from '../../src/protocol/signatures.js';

test('a client that stops reading is closed with 4100 once its buffer is full; others get everything', async () => {
  const h = await startTestHerald({ config: { maxBufferedBytes: 256 * 1024 } });
  try {
    const slow = await RawClient.established(h.wsUrl, h.app.key);
    const fast = await RawClient.established(h.wsUrl, h.app.key);
    for (const c of [slow, fast]) {
      c.send({ event: 'pusher:subscribe', data: { channel: 'firehose' } });
      await c.waitEvent('pusher_internal:subscription_succeeded', 'firehose');
    }
    (slow.ws as unknown as { _socket: Socket })._socket.pause();
    let received = 0;
    fast.ws.on('message', () => received++);
    const sdk = h.pusherServer();
    const payload = 'x'.repeat(9000);
    // Far more than loopback's kernel buffers hold, so the server-side queue must grow.
    const total = 2000;
    for (let i = 0; i < total; i += 10) {
      await sdk.triggerBatch(Array.from({ length: 10 }, () => ({ channel: 'firehose', name: 'blob', data: payload })));
    }
    await eventually(() => received >= total, 20_000, 'fast client receives every event');
    (slow.ws as unknown as { _socket: Socket })._socket.resume();
    const closed = await withTimeout(slow.closed, 20_000, 'slow client closed');
    assert.equal(closed.code, 4100);
    assert.equal(received, total);
    fast.close();
  } finally {
    await h.stop();
  }
});

/** A WebSocket client on a bare TCP socket, so the test controls exactly when bytes are read. */
class BareClient {
  private pending = Buffer.alloc(0);
  readonly texts: string[] = [];
  closeCode: number | undefined;
  private waiter: (() => void) | undefined;
  readonly ended: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      this.parse();
      this.waiter?.();
    });
    this.ended = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
  }

  static async open(port: number, key: string): Promise<BareClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const head = await new Promise<Buffer>((resolve) => {
      let got = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        const end = got.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        socket.pause();
        if (end + 4 < got.length) socket.unshift(got.subarray(end + 4));
        resolve(got.subarray(0, end));
      };
      socket.on('data', onData);
      socket.write(
        `GET /app/${key}?protocol=7 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    assert.match(head.toString(), /^HTTP\/1.1 101/);
    const client = new BareClient(socket);
    socket.resume();
    return client;
  }

  /** Sends one masked text frame (payload < 126 bytes). */
  send(text: string): void {
    const payload = Buffer.from(text);
    const mask = randomBytes(4);
    const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
    this.socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
  }

  async waitText(match: (text: string) => boolean, ms = 5000): Promise<void> {
    await withTimeout(
      new Promise<void>((resolve) => {
        const check = () => {
          if (this.texts.some(match)) resolve();
        };
        this.waiter = check;
        check();
      }),
      ms,
      'text frame',
    );
  }

  private parse(): void {
    for (;;) {
      const b = this.pending;
      if (b.length < 2) return;
      let length = b[1]! & 0x7f;
      let at = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      if (b.length < at + length) return;
      const opcode = b[0]! & 0x0f;
      const payload = b.subarray(at, at + length);
      if (opcode === 1) this.texts.push(payload.toString());
      else if (opcode === 8) {
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        // Complete the close handshake as a browser does (masked, echoing the code).
        const mask = randomBytes(4);
        const code = Buffer.alloc(2);
        code.writeUInt16BE(this.closeCode ^ mask.readUInt16BE(0));
        this.socket.write(Buffer.concat([Buffer.from([0x88, 0x82]), mask, code]));
      }
      this.pending = b.subarray(at + length);
    }
  }
}

test('a client that stops reading and resumes after the close timeout reads the 4100 close frame, not megabytes', async () => {
  const h = await startTestHerald({ config: { maxBufferedBytes: 256 * 1024 } });
  try {
    const slow = await BareClient.open(h.port, h.app.key);
    await slow.waitText((t) => t.includes('pusher:connection_established'));
    slow.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'firehose-resume' } }));
    await slow.waitText((t) => t.includes('pusher_internal:subscription_succeeded'));
    const fast = await RawClient.established(h.wsUrl, h.app.key);
    fast.send({ event: 'pusher:subscribe', data: { channel: 'firehose-resume' } });
    await fast.waitEvent('pusher_internal:subscription_succeeded', 'firehose-resume');
    let received = 0;
    fast.ws.on('message', () => received++);

    slow.socket.pause();
    const sdk = h.pusherServer();
    const payload = 'x'.repeat(9000);
    const total = 2000; // 18 MB: far beyond loopback's socket buffers and the 256 KB limit
    for (let i = 0; i < total; i += 10) {
      await sdk.triggerBatch(Array.from({ length: 10 }, () => ({ channel: 'firehose-resume', name: 'blob', data: payload })));
    }
    await eventually(() => received >= total, 20_000, 'fast client receives every event');
    // The client resumes only after ws' close timeout (3 s) has passed: the time is the point here.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    slow.socket.resume();
    await withTimeout(slow.ended, 20_000, 'slow client socket closed');
    assert.equal(slow.closeCode, 4100, 'the close frame arrives (pusher-js sees 4100, not 1006)');
    const events = slow.texts.filter((t) => t.includes('"blob"')).length;
    assert.ok(events < total, `what it would never read was dropped (${events} of ${total} events)`);
    fast.close();
  } finally {
    await h.stop();
  }
});

test('connections per IP are capped (4100) when configured', async () => {
  const h = await startTestHerald({ config: { maxConnectionsPerIp: 2 } });
  try {
    const a = await RawClient.established(h.wsUrl, h.app.key);
    const b = await RawClient.established(h.wsUrl, h.app.key);
    const c = await RawClient.connect(`${h.wsUrl}/app/${h.app.key}?protocol=7`);
    assert.equal((await c.closed).code, 4100);
    a.close();
    await a.closed;
    await eventually(async () => {
      const d = await RawClient.connect(`${h.wsUrl}/app/${h.app.key}?protocol=7`);
      const first = await Promise.race([d.waitFor(() => true).then(() => 'open'), d.closed.then(() => 'closed')]);
      d.close();
      return first === 'open';
    }, 5000, 'a slot frees up when a connection closes');
    b.close();
  } finally {
    await h.stop();
  }
});

test('churn: connect/subscribe/disconnect cycles leave no channel, presence or connection state behind', async () => {
  const cycles = Number(process.env.HERALD_CHURN_CYCLES ?? 1500);
  const h = await startTestHerald();
  try {
    const sdk = h.pusherServer();
    const rssBefore = process.memoryUsage().rss;
    const batch = 50;
    for (let done = 0; done < cycles; done += batch) {
      await Promise.all(
        Array.from({ length: batch }, async (_, i) => {
          const c = await RawClient.established(h.wsUrl, h.app.key);
          const n = done + i;
          c.send({ event: 'pusher:subscribe', data: { channel: `churn-${n % 20}` } });
          const channelData = JSON.stringify({ user_id: `u${n % 7}` });
          const auth = `${h.app.key}:${hmacSha256Hex(h.app.secret, `${c.socketId}:presence-churn:${channelData}`)}`;
          c.send({ event: 'pusher:subscribe', data: { channel: 'presence-churn', auth, channel_data: channelData } });
          await c.waitEvent('pusher_internal:subscription_succeeded', 'presence-churn');
          c.close();
          await c.closed;
        }),
      );
    }
    await eventually(async () => Object.keys((await (await sdk.get({ path: '/channels', params: {} })).json()).channels).length === 0, 10_000, 'no occupied channels');
    const users = await (await sdk.get({ path: '/channels/presence-churn/users', params: {} })).json();
    assert.deepEqual(users, { users: [] });
    const info = await (await sdk.get({ path: '/channels/presence-churn', params: { info: 'user_count,subscription_count' } })).json();
    assert.deepEqual(info, { occupied: false, user_count: 0, subscription_count: 0 });
    assert.equal(h.herald.engine.connectionCount(), 0);
    const rssAfter = process.memoryUsage().rss;
    process.stdout.write(`# churn: ${cycles} cycles, RSS ${(rssBefore / 1e6).toFixed(1)} MB → ${(rssAfter / 1e6).toFixed(1)} MB\n`);
  } finally {
    await h.stop();
  }
});
