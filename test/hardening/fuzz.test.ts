/**
 * Seeded fuzzing of the WebSocket and HTTP surfaces: random and mutated frames, wrong types in every
 * field, huge and deep payloads, broken signatures and paths. Herald must answer each with a
 * documented error, never a 500, never crash, and keep serving. HERALD_FUZZ_ITERATIONS raises the
 * count for long local runs (default keeps CI fast); HERALD_FUZZ_SEED replays a run.
 *
 * Memory: the V8 heap (after a forced full GC, see memory.ts) is read once the first 20% of the
 * iterations have warmed everything up and again at the end; it must not grow by more than
 * HEAP_GROWTH_LIMIT. The bound is generous (test runner and JIT noise) and fixed, so a per-input
 * leak shows up in the long runs (HERALD_FUZZ_ITERATIONS=20000) as growth far beyond it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { RawClient } from '../helpers/raw-client.js';
import { md5Hex } from '../../src/protocol/signatures.js';
import { signRequest } from '../../src/protocol/http-signing.js';
import { heapAfterGc, mb } from './memory.js';

const SEED = Number(process.env.HERALD_FUZZ_SEED ?? 20261122);
const ITERATIONS = Number(process.env.HERALD_FUZZ_ITERATIONS ?? 600);
const HEAP_GROWTH_LIMIT = 16 * 1024 * 1024;

/** mulberry32: small, fast, deterministic. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = rng(SEED);
const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
const int = (n: number) => Math.floor(random() * n);
/** The valid choice three times in four, else one of the others. */
const mostly = <T>(valid: T, others: T[]): T => (random() < 0.75 ? valid : pick(others));

function randomValue(depth = 0): unknown {
  switch (int(depth > 3 ? 6 : 9)) {
    case 0: return null;
    case 1: return int(2) === 0;
    case 2: return pick([0, -1, 1.5, 2 ** 53 + 1, Number.MAX_VALUE]);
    case 3: return pick(['', 'x', 'private-a', 'presence-b', '#server-to-user-u', 'a'.repeat(300), '\u0000\uffff', '{"json":"in a string"}']);
    case 4: return 'é🙂'.repeat(int(50));
    case 5: return `${int(1e6)}.${int(1e6)}`;
    case 6: return Array.from({ length: int(4) }, () => randomValue(depth + 1));
    case 7: {
      const o: Record<string, unknown> = {};
      for (let i = int(4); i > 0; i--) o[pick(['channel', 'auth', 'channel_data', 'user_data', 'data', 'event', 'x'])] = randomValue(depth + 1);
      return o;
    }
    default: return { channel: randomValue(depth + 1), auth: randomValue(depth + 1) };
  }
}

const EVENTS = ['pusher:subscribe', 'pusher:unsubscribe', 'pusher:ping', 'pusher:pong', 'pusher:signin', 'pusher_internal:x', 'client-x', 'other', '', 'pusher:connection_established'];

function randomFrame(): string {
  switch (int(6)) {
    case 0: return JSON.stringify({ event: pick(EVENTS), channel: randomValue(), data: randomValue() });
    case 1: return JSON.stringify(randomValue());
    case 2: {
      // Mutate a valid frame byte by byte.
      const base = JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'presence-x', auth: 'k:abc', channel_data: '{"user_id":"1"}' } });
      const chars = [...base];
      for (let i = int(5) + 1; i > 0; i--) chars[int(chars.length)] = String.fromCharCode(int(128));
      return chars.join('');
    }
    case 3: return '['.repeat(int(5000)) + ']'.repeat(int(5000));
    case 4: return JSON.stringify({ event: 'client-big', channel: 'private-x', data: 'x'.repeat(int(30_000)) });
    default: return Array.from({ length: int(200) }, () => String.fromCharCode(int(65536))).join('');
  }
}

let h: TestHerald;
const rejections: unknown[] = [];
const onRejection = (err: unknown) => rejections.push(err);
before(async () => {
  process.on('unhandledRejection', onRejection);
  h = await startTestHerald();
});
after(async () => {
  process.off('unhandledRejection', onRejection);
  await h.stop();
});

test(`WebSocket fuzz (seed ${SEED}, ${ITERATIONS} frames): every frame answered or ignored, server keeps serving`, async (t) => {
  let client = await RawClient.established(h.wsUrl, h.app.key);
  const warmup = Math.floor(ITERATIONS / 5);
  let heapBefore = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    if (i === warmup) heapBefore = await heapAfterGc();
    if (client.closeCode !== undefined) client = await RawClient.established(h.wsUrl, h.app.key);
    client.send(randomFrame());
    if (i % 50 === 49) {
      // A ping round trip proves every frame before it was processed without killing the socket.
      client.send({ event: 'pusher:ping', data: {} });
      await client.waitEvent('pusher:pong', undefined, 10_000);
      client.frames.length = 0;
    }
  }
  for (const f of client.frames) assert.ok(typeof f.event === 'string');
  client.close();
  const fresh = await RawClient.established(h.wsUrl, h.app.key);
  fresh.send({ event: 'pusher:subscribe', data: { channel: 'after-fuzz' } });
  await fresh.waitEvent('pusher_internal:subscription_succeeded', 'after-fuzz');
  fresh.close();
  await fresh.closed;
  const heapAfter = await heapAfterGc();
  t.diagnostic(`WebSocket fuzz heap after GC: ${mb(heapBefore)} → ${mb(heapAfter)}`);
  assert.ok(heapAfter - heapBefore < HEAP_GROWTH_LIMIT, `heap grew ${mb(heapAfter - heapBefore)} over ${ITERATIONS - warmup} frames`);
  assert.equal(h.herald.engine.connectionCount(), 0, 'every fuzzed connection is gone');
  assert.deepEqual(rejections, []);
});

test(`HTTP fuzz (seed ${SEED}): bodies, queries, signatures, path segments never give a 5xx`, async (t) => {
  const statuses = new Map<number, number>();
  const paths = [`/apps/${h.app.id}/events`, `/apps/${h.app.id}/batch_events`, `/apps/${h.app.id}/channels`, `/apps/${h.app.id}/channels/x`, `/apps/${h.app.id}/channels/presence-x/users`, `/apps/${h.app.id}/users/u/terminate_connections`, '/apps/%ZZ/events', '/apps//channels', `/apps/${h.app.id}/channels/%E0%A4%A`, '/' + 'a/'.repeat(200)];
  const iterations = Math.max(100, Math.floor(ITERATIONS / 2));
  const warmup = Math.floor(iterations / 5);
  let heapBefore = 0;
  for (let i = 0; i < iterations; i++) {
    if (i === warmup) heapBefore = await heapAfterGc();
    const path = pick(paths);
    // Mostly the route's own method and valid credentials, so most requests reach the handlers.
    const method = mostly(/events|terminate/.test(path) ? 'POST' : 'GET', ['GET', 'POST', 'PUT', 'DELETE']);
    const body = method === 'POST' ? pick([JSON.stringify(randomValue()), JSON.stringify({ name: randomValue(), data: randomValue(), channels: randomValue(), socket_id: randomValue(), info: randomValue() }), JSON.stringify({ batch: [randomValue(), randomValue()] }), 'not json', '']) : undefined;
    const query: Array<[string, string]> = [
      ['auth_key', mostly(h.app.key, ['', 'nope'])],
      ['auth_timestamp', mostly(String(Math.floor(Date.now() / 1000)), ['0', 'abc', '99999999999999'])],
      ['auth_version', mostly('1.0', ['2.0'])],
    ];
    if (body) query.push(['body_md5', mostly(md5Hex(body), ['bad'])]);
    if (random() < 0.3) query.push([pick(['info', 'filter_by_prefix', 'AUTH_KEY', '']), String(randomValue())]);
    const sig = mostly(signRequest(h.app.secret, method, path, query), ['f'.repeat(64), '']);
    const signed: Array<[string, string]> = [...query, ['auth_signature', sig]];
    const qs = signed.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&') + mostly('', ['&%zz', '&a=%']);
    const res = await fetch(`${h.httpUrl}${path}?${qs}`, { method, body: body || undefined, headers: { 'Content-Type': 'application/json' } });
    await res.arrayBuffer();
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    assert.ok(res.status < 500, `${method} ${path} ${body?.slice(0, 80)} → ${res.status}`);
  }
  assert.ok(statuses.size > 1, `a spread of refusals: ${JSON.stringify([...statuses])}`);
  // And the API still works for a well-formed request afterwards.
  const ok = await h.pusherServer().trigger('after-http-fuzz', 'e', { fine: true });
  assert.equal(ok.status, 200);
  const heapAfter = await heapAfterGc();
  t.diagnostic(`HTTP fuzz heap after GC: ${mb(heapBefore)} → ${mb(heapAfter)}; statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  assert.ok(heapAfter - heapBefore < HEAP_GROWTH_LIMIT, `heap grew ${mb(heapAfter - heapBefore)} over ${iterations - warmup} requests`);
  assert.deepEqual(rejections, []);
});
