// Exercises the addon directly (no TypeScript, no Herald) so it can run under valgrind:
//   valgrind --error-exitcode=9 node native/memcheck.mjs
// Both modes: shared frames to many sockets, several frames per socket, partial writes and EAGAIN
// to a peer that stopped reading, a peer that reset, and bad arguments. Exits non-zero on a mismatch.
import { createRequire } from 'node:module';
import { createServer, connect } from 'node:net';
import { once } from 'node:events';

const addon = createRequire(import.meta.url)('./build/Release/herald_send.node');
const check = (ok, what) => {
  if (!ok) {
    console.error(`memcheck: FAILED ${what}`);
    process.exit(1);
  }
};

async function pair() {
  const l = createServer().listen(0, '127.0.0.1');
  await once(l, 'listening');
  const accepted = once(l, 'connection');
  const peer = connect(l.address().port, '127.0.0.1');
  const [server] = await accepted;
  await once(peer, 'connect');
  l.close();
  for (const s of [server, peer]) s.on('error', () => {});
  return { server, peer, fd: server._handle.fd };
}
function drain(peer, bytes) {
  const chunks = [];
  let got = 0;
  return new Promise((resolve) => {
    peer.on('data', (c) => {
      chunks.push(c);
      got += c.length;
      if (got >= bytes) resolve(Buffer.concat(chunks));
    });
    peer.resume();
  });
}
const pattern = (n, s) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + s) & 0xff));

for (const mode of ['io_uring', 'send']) {
  check(addon.open(mode) === mode, `open ${mode}`);
  // 1. one frame to 50 sockets, 3 passes
  const pairs = await Promise.all(Array.from({ length: 50 }, pair));
  const frames = [pattern(102, 1), pattern(5000, 2), pattern(1, 3)];
  for (const f of frames) {
    const slots = new Int32Array(pairs.flatMap((p) => [p.fd, 1, 0]));
    const results = new Int32Array(pairs.length);
    addon.send(slots, pairs.length, [f], results);
    check(results.every((r) => r === f.length), `${mode} complete sends`);
  }
  const all = Buffer.concat(frames);
  for (const p of pairs) check((await drain(p.peer, all.length)).equals(all), `${mode} bytes in order`);
  // 2. 64 frames in one sendmsg
  const many = Array.from({ length: 64 }, (_, i) => pattern(10 + i, i));
  const p2 = pairs[0];
  const r2 = new Int32Array(1);
  addon.send(new Int32Array([p2.fd, 64, ...many.map((_, i) => i)]), 1, many, r2);
  check(r2[0] === many.reduce((n, b) => n + b.length, 0), `${mode} sendmsg of 64 frames`);
  // 3. a peer that stops reading: partial, then EAGAIN (0 bytes)
  const slow = await pair();
  slow.peer.pause();
  const big = pattern(8 << 20, 7);
  const r3 = new Int32Array(1);
  addon.send(new Int32Array([slow.fd, 1, 0]), 1, [big], r3);
  check(r3[0] > 0 && r3[0] < big.length, `${mode} partial write (${r3[0]})`);
  addon.send(new Int32Array([slow.fd, 1, 0]), 1, [big], r3);
  check(r3[0] === -11, `${mode} EAGAIN (${r3[0]})`);
  // 4. a peer that reset: -EPIPE or -ECONNRESET
  const reset = await pair();
  reset.peer.resetAndDestroy();
  await once(reset.peer, 'close');
  let r4 = 0;
  for (let i = 0; i < 100 && r4 >= 0; i++) {
    const out = new Int32Array(1);
    addon.send(new Int32Array([reset.fd, 1, 0]), 1, [frames[0]], out);
    r4 = out[0];
    if (r4 >= 0) await new Promise((r) => setImmediate(r));
  }
  check(r4 === -32 || r4 === -104, `${mode} reset peer (${r4})`);
  // 5. bad arguments are refused, not read out of bounds
  for (const [slots, n, bufs] of [
    [new Int32Array([p2.fd, 1, 5]), 1, [frames[0]]],
    [new Int32Array([p2.fd, 65]), 1, [frames[0]]],
    [new Int32Array([p2.fd]), 1, [frames[0]]],
    [new Int32Array([p2.fd, 1, 0]), 2, [frames[0]]],
  ]) {
    let threw = false;
    try {
      addon.send(slots, n, bufs, new Int32Array(n));
    } catch {
      threw = true;
    }
    check(threw, `${mode} bad arguments refused`);
  }
  for (const p of [...pairs, slow, reset]) p.server.destroy(), p.peer.destroy();
}
console.log('memcheck: ok');
