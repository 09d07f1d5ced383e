/**
 * The native send path (native/herald_send.cc through src/transports/websocket/native-send.ts) over real
 * connected TCP socket pairs, in both native modes: complete sends, partial writes to a peer that
 * stopped reading, EAGAIN, a peer that reset, several frames per socket, and the remainder handed
 * back to Node arriving in order. Skipped (with a note) only where the addon is not built.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { NativeBatch, openSendPath, unwritten, type SendOwner } from '../../../src/transports/websocket/native-send.js';

const available = (mode: 'io_uring' | 'send') => openSendPath(mode).path;
const uring = available('io_uring');
const built = available('send').name === 'send';
const skipFor = (mode: 'io_uring' | 'send') =>
  !built ? 'native addon not built (npm run build:native)' : mode === 'io_uring' && uring.name !== 'io_uring' ? uring.reason : false;

/** A connected pair: `server` is written by the batch (through its fd), `peer` reads. */
async function socketPair(): Promise<{ server: Socket; peer: Socket; close(): void }> {
  const listener = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const { port } = listener.address() as { port: number };
  const accepted = once(listener, 'connection');
  const peer = connect(port, '127.0.0.1');
  const [server] = (await accepted) as [Socket];
  await once(peer, 'connect');
  listener.close();
  server.on('error', () => undefined);
  peer.on('error', () => undefined);
  return {
    server,
    peer,
    close() {
      server.destroy();
      peer.destroy();
    },
  };
}

function fdOf(socket: Socket): number {
  return (socket as unknown as { _handle: { fd: number } })._handle.fd;
}

/** Hands back like the gateway does: what the kernel did not take goes to Node, in order. */
class Owner implements SendOwner {
  handedBack: Array<{ written: number }> = [];
  constructor(readonly socket: Socket) {}
  handBack(frames: Buffer | Buffer[], written: number): void {
    this.handedBack.push({ written });
    const rest = unwritten(frames, written);
    for (const chunk of Array.isArray(rest) ? rest : [rest]) this.socket.write(chunk);
  }
}

/** Reads from `peer` until `bytes` have arrived; resolves with them. */
function readExactly(peer: Socket, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      got += chunk.length;
      if (got >= bytes) {
        peer.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    peer.on('data', onData);
    peer.once('error', reject);
  });
}

function pattern(length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

for (const mode of ['io_uring', 'send'] as const) {
  const skip = skipFor(mode);
  const batchFor = () => {
    const opened = openSendPath(mode);
    assert.equal(opened.path.name, mode, opened.path.reason);
    return opened.batch!;
  };

  test(`${mode}: one pass sends a shared frame to many sockets, complete and in order`, { skip }, async () => {
    const batch = batchFor();
    const pairs = await Promise.all(Array.from({ length: 20 }, () => socketPair()));
    try {
      const frames = [pattern(102, 1), pattern(300, 2), pattern(7, 3)];
      for (const frame of frames) {
        const owners = pairs.map((p) => new Owner(p.server));
        for (let i = 0; i < pairs.length; i++) batch.add(owners[i]!, fdOf(pairs[i]!.server), frame, frame.length);
        batch.send();
        assert.deepEqual(owners.flatMap((o) => o.handedBack), [], 'a socket with room takes everything');
      }
      const expected = Buffer.concat(frames);
      for (const p of pairs) assert.deepEqual(await readExactly(p.peer, expected.length), expected);
    } finally {
      for (const p of pairs) p.close();
    }
  });

  test(`${mode}: several frames to one socket leave in order, beyond the per-call cap through Node`, { skip }, async () => {
    const batch = batchFor();
    const pair = await socketPair();
    try {
      const frames = Array.from({ length: 100 }, (_, i) => pattern(50 + i, i));
      const owner = new Owner(pair.server);
      const total = frames.reduce((n, f) => n + f.length, 0);
      batch.add(owner, fdOf(pair.server), frames, total);
      batch.send();
      // 64 frames per socket per call at most: the rest is handed back whole, after the 64th.
      const nativeBytes = frames.slice(0, 64).reduce((n, f) => n + f.length, 0);
      assert.deepEqual(owner.handedBack, [{ written: nativeBytes }]);
      assert.deepEqual(await readExactly(pair.peer, total), Buffer.concat(frames));
    } finally {
      pair.close();
    }
  });

  test(`${mode}: a peer that stops reading gets a partial write, then EAGAIN; Node finishes in order`, { skip }, async () => {
    const batch = batchFor();
    const pair = await socketPair();
    try {
      pair.peer.pause();
      const big = pattern(8 * 1024 * 1024, 7); // more than loopback's socket buffers hold
      const owner = new Owner(pair.server);
      batch.add(owner, fdOf(pair.server), big, big.length);
      batch.send();
      assert.equal(owner.handedBack.length, 1);
      const first = owner.handedBack[0]!.written;
      assert.ok(first > 0 && first < big.length, `partial write (${first} of ${big.length})`);

      // Node now holds the rest; a second frame sent natively now would overtake it — the gateway
      // never does that (writableLength !== 0). Prove the kernel path itself returns EAGAIN:
      // a fresh pair, filled until full by the batch alone.
      const full = await socketPair();
      try {
        full.peer.pause();
        const fill = pattern(64 * 1024, 9);
        const fillOwner: SendOwner & { last: number } = { last: -1, handBack: (_f, w) => void (fillOwner.last = w) };
        let sent = 0;
        for (let i = 0; i < 1000 && fillOwner.last !== 0; i++) {
          fillOwner.last = -1;
          batch.add(fillOwner, fdOf(full.server), fill, fill.length);
          batch.send();
          sent += fillOwner.last === -1 ? fill.length : fillOwner.last;
        }
        assert.equal(fillOwner.last, 0, 'a full socket takes nothing (EAGAIN), and nothing is written later');
        full.peer.resume();
        const received = await readExactly(full.peer, sent);
        assert.equal(received.length, sent, 'exactly the bytes reported written arrive');
      } finally {
        full.close();
      }

      pair.peer.resume();
      const received = await readExactly(pair.peer, big.length);
      assert.equal(received.length, big.length);
      assert.ok(received.equals(big), 'kernel part, then Node part, byte for byte');
    } finally {
      pair.close();
    }
  });

  test(`${mode}: a peer that reset: the send fails (EPIPE/ECONNRESET), the bytes go back to Node, which reports it`, { skip }, async () => {
    const batch = batchFor();
    const pair = await socketPair();
    try {
      // Not events.once: it would reject on the 'error' this test expects.
      const serverClosed = new Promise((resolve) => pair.server.once('close', resolve));
      pair.peer.resetAndDestroy();
      await once(pair.peer, 'close');
      // The RST may need a moment to be seen; send until the kernel refuses (bounded).
      const frame = pattern(102, 5);
      const results: number[] = [];
      const owner: SendOwner = { handBack: (_f, written) => void results.push(written) };
      for (let i = 0; i < 200 && results.length === 0; i++) {
        batch.add(owner, fdOf(pair.server), frame, frame.length);
        batch.send();
        if (results.length === 0) await new Promise((r) => setImmediate(r));
      }
      assert.deepEqual(results, [0], 'nothing written, everything handed back');
      const errors: string[] = [];
      pair.server.on('error', (err: NodeJS.ErrnoException) => errors.push(err.code ?? ''));
      pair.server.write(frame);
      await serverClosed;
      assert.ok(errors.length === 1 && (errors[0] === 'EPIPE' || errors[0] === 'ECONNRESET'), errors.join());
    } finally {
      pair.close();
    }
  });
}

test('HERALD_NATIVE_SEND: off forces JavaScript, unknown values are refused', () => {
  assert.deepEqual(openSendPath('off').path, { name: 'js', reason: 'HERALD_NATIVE_SEND=off' });
  assert.equal(openSendPath('OFF').batch, undefined);
  assert.throws(() => openSendPath('uring'), /HERALD_NATIVE_SEND must be one of auto, io_uring, send, off/);
  if (uring.name === 'io_uring') assert.equal(openSendPath(undefined).path.name, 'io_uring');
});

test('unwritten: what is left after a partial write, frame boundaries kept', () => {
  const a = Buffer.from('aaaa');
  const b = Buffer.from('bbb');
  const c = Buffer.from('cc');
  assert.equal(unwritten(a, 0), a);
  assert.equal(unwritten(a, 1).toString(), 'aaa');
  assert.deepEqual(unwritten([a, b, c], 0), [a, b, c]);
  assert.deepEqual((unwritten([a, b, c], 5) as Buffer[]).map(String), ['bb', 'cc']);
  assert.equal(unwritten([a, b, c], 7), c);
  assert.equal(String(unwritten([a, b, c], 8)), 'c');
});

function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : NaN;
}

test('a Herald says which send path it uses in /metrics, and broadcasts go through it', async () => {
  const { startTestHerald } = await import('../../helpers/herald.js');
  const { RawClient } = await import('../../helpers/raw-client.js');
  const { processSendPath } = await import('../../../src/transports/websocket/native-send.js');
  const h = await startTestHerald();
  try {
    const { path, batch } = processSendPath();
    const metrics = await (await fetch(`${h.httpUrl}/metrics`)).text();
    assert.match(metrics, new RegExp(`^herald_websocket_send_path\\{path="${path.name}"\\} 1$`, 'm'));
    if (process.env.HERALD_NATIVE_SEND?.toLowerCase() === 'off') assert.equal(path.name, 'js');
    const clients = await Promise.all([1, 2, 3].map(() => RawClient.established(h.wsUrl, h.app.key)));
    for (const c of clients) {
      c.send({ event: 'pusher:subscribe', data: { channel: 'native-path' } });
      await c.waitEvent('pusher_internal:subscription_succeeded', 'native-path');
    }
    const before = batch?.stats.sockets ?? 0;
    const sent = async () => sample(await (await fetch(`${h.httpUrl}/metrics`)).text(), 'herald_network_sent_bytes_total');
    // Two scrapes with nothing between them: what a scrape itself adds to the counter.
    const s0 = await sent();
    const s1 = await sent();
    const pad = 'x'.repeat(2000);
    await h.pusherServer().trigger('native-path', 'hello', { pad });
    for (const c of clients) assert.deepEqual((await c.waitEvent('hello', 'native-path')).data, { pad });
    if (batch) assert.ok(batch.stats.sockets - before >= 3, 'each recipient was sent natively');
    const s2 = await sent();
    // Bytes sent natively still count on the wire: 3 frames of 2,000+ bytes, whichever path.
    assert.ok(s2 - s1 - (s1 - s0) >= 3 * 2000, `sent bytes grew by ${s2 - s1} (a scrape alone: ${s1 - s0})`);
    for (const c of clients) c.close();
  } finally {
    await h.stop();
  }
});

test('a broadcast to more sockets than one native call takes reaches every pusher-js subscriber, each event once and in order', async () => {
  const { startTestHerald } = await import('../../helpers/herald.js');
  const { connected, subscribed } = await import('../../helpers/pusher-js.js');
  const { withTimeout } = await import('../../helpers/wait.js');
  const { SEND_CHUNK_SOCKETS } = await import('../../../src/transports/websocket/frame-writer.js');
  const { processSendPath } = await import('../../../src/transports/websocket/native-send.js');
  const h = await startTestHerald();
  const { batch } = processSendPath();
  const send = batch?.send;
  try {
    const subscribers = SEND_CHUNK_SOCKETS + 76;
    const received: string[][] = [];
    const bothArrived: Array<Promise<void>> = [];
    for (let first = 0; first < subscribers; first += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, subscribers - first) }, async () => {
          const client = h.pusherClient();
          await connected(client);
          const seen: string[] = [];
          received.push(seen);
          const channel = await subscribed(client, 'big-channel');
          bothArrived.push(
            new Promise((resolve) =>
              channel.bind_global((event: string, data: { n?: number }) => {
                if (event.startsWith('pusher')) return;
                seen.push(`${event}:${data.n}`);
                if (seen.length === 2) resolve();
              }),
            ),
          );
        }),
      );
    }
    // Sockets per native call while the events go out (the process's batch, when the native path is on).
    const perCall: number[] = [];
    if (batch && send) batch.send = () => (perCall.push(batch.pending), send.call(batch));
    // One request, two events: one pass, both frames queued on every socket before the flush.
    await h.pusherServer().triggerBatch([
      { channel: 'big-channel', name: 'first', data: { n: 1 } },
      { channel: 'big-channel', name: 'second', data: { n: 2 } },
    ]);
    await withTimeout(Promise.all(bothArrived), 15_000, 'both events at every subscriber');
    for (const seen of received) assert.deepEqual(seen, ['first:1', 'second:2']);
    if (batch) assert.ok(perCall.length > 0 && Math.max(...perCall) <= SEND_CHUNK_SOCKETS, `no native call took more than ${SEND_CHUNK_SOCKETS} sockets (${perCall.join(', ')})`);
  } finally {
    if (batch && send) batch.send = send;
    await h.stop();
  }
});
