/**
 * The WebSocket write path (src/transports/websocket/frame-writer.ts) against a fake socket: what
 * leaves in which syscall, flush-before-close, the slow-reader backlog and the backpressure cut.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameWriter, SLOW_CHUNK_BYTES, flushWriters } from '../../../src/transports/websocket/frame-writer.js';
import { NativeBatch } from '../../../src/transports/websocket/native-send.js';
import { FakeSocket, frame, nextPass } from './fake-socket.js';

const LIMIT = 1024 * 1024;

test('one frame in a pass leaves in one write(), at the end of the pass, without cork', async () => {
  const socket = new FakeSocket();
  const writer = new FrameWriter(socket);
  const a = frame(10, 1);
  assert.equal(writer.queue(a, LIMIT), true);
  assert.equal(socket.syscalls.length, 0, 'nothing is written before the pass ends');
  await nextPass();
  assert.equal(socket.syscalls.length, 1);
  assert.equal(socket.syscalls[0]![0], a, 'the very Buffer queued (no copy)');
  assert.equal(socket.syscalls[0]!.length, 1);
});

test('several frames queued in one pass leave in one corked batch; the next pass is a new write', async () => {
  const socket = new FakeSocket();
  const writer = new FrameWriter(socket);
  const [a, b, c, d] = [frame(10, 1), frame(200, 2), frame(70_000, 3), frame(5, 4)];
  for (const f of [a, b, c]) writer.queue(f, LIMIT);
  await nextPass();
  assert.equal(socket.syscalls.length, 1, 'one syscall for the pass');
  assert.deepEqual(socket.syscalls[0], [a, b, c], 'in the order queued');
  writer.queue(d, LIMIT);
  await nextPass();
  assert.equal(socket.syscalls.length, 2);
  assert.deepEqual(socket.syscalls[1], [d]);
});

test('each socket of a pass gets its own single write, with the same shared Buffer', async () => {
  const sockets = [new FakeSocket(), new FakeSocket(), new FakeSocket()];
  const writers = sockets.map((s) => new FrameWriter(s));
  const broadcast = frame(100, 9);
  for (const w of writers) w.queue(broadcast, LIMIT);
  await nextPass();
  for (const s of sockets) {
    assert.equal(s.syscalls.length, 1);
    assert.equal(s.syscalls[0]![0], broadcast);
  }
});

test('flush-before-close: frames queued in the pass are written before the close frame', async () => {
  const socket = new FakeSocket();
  const writer = new FrameWriter(socket);
  const [a, b] = [frame(10, 1), frame(20, 2)];
  writer.queue(a, LIMIT);
  writer.queue(b, LIMIT);
  writer.flushBeforeClose();
  const close = frame(4, 0x88);
  socket.write(close); // what ws does next
  await nextPass();
  assert.deepEqual(socket.chunks(), [a, b, close], 'queued frames first, nothing after the close frame');
});

test('flush-before-close also writes a slow reader\'s backlog, ahead of the close frame', async () => {
  const socket = new FakeSocket();
  socket.hold = true;
  socket.writableLength = 50; // Node still holds earlier bytes (ws' own pong, say)
  const writer = new FrameWriter(socket);
  const [a, b, c] = [frame(10, 1), frame(20, 2), frame(30, 3)];
  writer.queue(a, LIMIT);
  await nextPass();
  assert.deepEqual(socket.chunks(), [a], 'handed to Node behind its pending bytes');
  writer.queue(b, LIMIT);
  writer.queue(c, LIMIT);
  await nextPass();
  assert.deepEqual(socket.chunks(), [a], 'later frames wait in the backlog while Node holds bytes');
  writer.flushBeforeClose();
  const close = frame(4, 0x88);
  socket.write(close);
  assert.deepEqual(socket.chunks(), [a, b, c, close]);
});

test('a slow reader is handed at most one chunk at a time; the backlog follows as writes complete', async () => {
  const socket = new FakeSocket();
  socket.hold = true;
  const writer = new FrameWriter(socket);
  const first = frame(100, 0);
  writer.queue(first, LIMIT);
  await nextPass(); // written straight away (Node held nothing), and now held
  const frames = Array.from({ length: 10 }, (_, i) => frame(10 * 1024, i + 1));
  writer.queue(frames[0]!, LIMIT);
  await nextPass(); // handed to Node with a completion callback: slow mode
  for (const f of frames.slice(1)) writer.queue(f, LIMIT);
  await nextPass();
  assert.deepEqual(socket.chunks(), [first, frames[0]], 'frames 1-9 wait in the backlog');
  socket.release();
  const chunk = Math.floor(SLOW_CHUNK_BYTES / (10 * 1024));
  assert.deepEqual(socket.chunks(), [first, ...frames.slice(0, 1 + chunk)], `next chunk: ${chunk} whole frames, at most ${SLOW_CHUNK_BYTES} bytes`);
  socket.release();
  assert.deepEqual(socket.chunks(), [first, ...frames], 'the rest, in order');
  socket.release();
  socket.hold = false;
  const after = frame(10, 42);
  writer.queue(after, LIMIT);
  await nextPass();
  assert.deepEqual(socket.syscalls.at(-1), [after], 'out of slow mode: straight to the socket again');
});

test('backpressure: a frame that would take Node\'s bytes past the limit is refused, and what was queued is dropped', async () => {
  const socket = new FakeSocket();
  socket.writableLength = 900;
  const writer = new FrameWriter(socket);
  assert.equal(writer.queue(frame(100, 1), 1000), true, 'exactly at the limit is allowed');
  assert.equal(writer.queue(frame(1, 2), 1000), false, 'one byte beyond is the cut');
  await nextPass();
  assert.deepEqual(socket.syscalls, [], 'nothing queued is written after the cut');
});

test('backpressure: the cut counts the backlog, drops it, and only what Node already held is ever written', async () => {
  const socket = new FakeSocket();
  socket.hold = true;
  const limit = 200 * 1024;
  const writer = new FrameWriter(socket);
  const handed: Buffer[] = [];
  const kb10 = (i: number) => frame(10 * 1024, i);
  // Pass 1 goes straight to the socket (and is held); pass 2 is handed to Node with a callback.
  for (const pass of [[kb10(1)], [kb10(2), kb10(3)]]) {
    for (const f of pass) assert.equal(writer.queue(f, limit), true);
    handed.push(...pass);
    await nextPass();
  }
  assert.deepEqual(socket.chunks(), handed);
  // Node now holds 30 KB; frames wait in the backlog until the limit counts them all.
  let accepted = 0;
  while (accepted < 100 && writer.queue(kb10(100 + accepted), limit)) {
    accepted++;
    await nextPass();
  }
  assert.equal(accepted, 17, '30 KB held + 17 × 10 KB backlog = 200 KB; the 18th frame is beyond the limit');
  assert.deepEqual(socket.chunks(), handed, 'the backlog was never handed to Node');
  socket.release(); // the client reads what Node held: the dropped backlog does not follow
  await nextPass();
  assert.deepEqual(socket.chunks(), handed);
});

test('a destroyed socket is not written, and discard() forgets what was queued', async () => {
  const socket = new FakeSocket();
  const writer = new FrameWriter(socket);
  writer.queue(frame(10, 1), LIMIT);
  socket.destroyed = true;
  await nextPass();
  assert.deepEqual(socket.syscalls, []);
  const other = new FakeSocket();
  const discarded = new FrameWriter(other);
  discarded.queue(frame(10, 1), LIMIT);
  discarded.discard();
  await nextPass();
  assert.deepEqual(other.syscalls, []);
});

/**
 * A stand-in for the native addon: records each call and takes `take(i)` bytes of socket i; call
 * number `failOnCall` (if any) writes nothing and throws, as a failed ring does.
 */
function fakeNative(take: (socket: number, bytes: number) => number, failOnCall = 0) {
  const calls: Array<{ fds: number[]; buffers: Buffer[] }> = [];
  const addon = {
    maxFramesPerSocket: 64,
    open: () => 'ok',
    send(slots: Int32Array, sockets: number, buffers: Buffer[], results: Int32Array) {
      const fds: number[] = [];
      let at = 0;
      for (let i = 0; i < sockets; i++) {
        const fd = slots[at++]!;
        const n = slots[at++]!;
        let bytes = 0;
        for (let k = 0; k < n; k++) bytes += buffers[slots[at++]!]!.length;
        fds.push(fd);
        results[i] = failOnCall === calls.length + 1 ? 0 : take(i, bytes);
      }
      calls.push({ fds, buffers: [...buffers] });
      if (failOnCall === calls.length) throw new Error('io_uring_enter: ring gone');
    },
  };
  return { batch: new NativeBatch(addon), calls };
}

test('native batch: a socket with nothing pending goes to the batch, not to Node', () => {
  const { batch, calls } = fakeNative((_i, bytes) => bytes);
  const sockets = [new FakeSocket(), new FakeSocket()];
  const writers = sockets.map((s, i) => new FrameWriter(s, 10 + i));
  const broadcast = frame(100, 1);
  for (const w of writers) {
    w.queue(broadcast, LIMIT);
    w.flush(batch); // what the end of the pass does with this process's batch
  }
  batch.send();
  assert.deepEqual(calls, [{ fds: [10, 11], buffers: [broadcast] }], 'one call for the pass; the shared frame passed once');
  for (const s of sockets) assert.deepEqual(s.syscalls, []);
});

test('native batch: what the kernel did not take goes to Node in order, and later frames wait behind it', async () => {
  const { batch } = fakeNative(() => 150);
  const socket = new FakeSocket();
  socket.hold = true;
  const writer = new FrameWriter(socket, 7);
  const [a, b, c] = [frame(100, 1), frame(100, 2), frame(100, 3)];
  writer.queue(a, LIMIT);
  writer.queue(b, LIMIT);
  writer.flush(batch);
  batch.send(); // the kernel took a and half of b
  assert.deepEqual(socket.chunks(), [b.subarray(50)]);
  writer.queue(c, LIMIT);
  await nextPass();
  assert.deepEqual(socket.chunks(), [b.subarray(50)], 'c waits: Node still holds the rest of b');
  socket.release();
  assert.deepEqual(socket.chunks(), [b.subarray(50), c]);
});

test('native batch: a pass is sent every `chunk` sockets, each socket once with all its frames of the pass', () => {
  const { batch, calls } = fakeNative((_i, bytes) => bytes);
  const sockets = Array.from({ length: 5 }, () => new FakeSocket());
  const writers = sockets.map((s, i) => new FrameWriter(s, 10 + i));
  const [first, second] = [frame(100, 1), frame(100, 2)];
  for (const w of writers) w.queue(first, LIMIT);
  for (const w of writers) w.queue(second, LIMIT);
  flushWriters(writers, batch, 2);
  assert.deepEqual(
    calls.map((c) => c.fds),
    [[10, 11], [12, 13], [14]],
    'a call per two sockets as they are flushed, and the rest at the end',
  );
  for (const call of calls) assert.deepEqual(call.buffers, [first, second]);
  for (const s of sockets) assert.deepEqual(s.syscalls, []);
  assert.equal(batch.pending, 0);
});

test('native batch: when a call fails as a whole, its sockets and the pass\'s remaining ones are written by Node', () => {
  const { batch, calls } = fakeNative((_i, bytes) => bytes, 2);
  const sockets = Array.from({ length: 5 }, () => new FakeSocket());
  const writers = sockets.map((s, i) => new FrameWriter(s, 10 + i));
  const broadcast = frame(100, 1);
  for (const w of writers) w.queue(broadcast, LIMIT);
  flushWriters(writers, batch, 2);
  assert.deepEqual(
    calls.map((c) => c.fds),
    [[10, 11], [12, 13]],
    'no native call after the one that failed',
  );
  assert.deepEqual(
    sockets.map((s) => s.chunks().length),
    [0, 0, 1, 1, 1],
    'the failed call\'s sockets were handed back to Node, the last one written by Node',
  );
});
