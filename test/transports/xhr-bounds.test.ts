/**
 * Limits and error statuses of the xhr transports, with raw HTTP requests: refused handshakes,
 * unknown or invalid sessions, body sizes, the per-address cap, idle sessions, buffered bytes,
 * heartbeats and server-side closes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type Pusher from 'pusher';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { eventually, withTimeout } from '../helpers/wait.js';
import { xhrTransportsModule } from '../../src/transports/xhr/module.js';

let h: TestHerald;
let server: Pusher;
let counter = 0;
const QUERY = '?protocol=7&client=js&version=8.6.0';

before(async () => {
  h = await startTestHerald({
    apps: [{ id: 'xhr-origins-app', key: 'xhr-origins-key', secret: 'xhr-origins-secret-123', allowedOrigins: ['https://good.example'] }],
    modules: [xhrTransportsModule({ idleTimeoutMs: 400, heartbeatMs: 300, maxSessionsPerIp: 3, maxBufferedBytes: 20_000, maxSendBytes: 2048 })],
  });
  server = h.pusherServer();
});
after(() => h.stop());

function sessionBase(key = h.app.key): string {
  return `${h.httpUrl}/pusher/app/${key}/${++counter}/s${counter}abcdef`;
}

/** A receive request whose frames (lines) can be awaited as they stream in. */
async function receive(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } });
  const lines: string[] = [];
  let buffer = '';
  const waiters: Array<() => void> = [];
  const done = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        lines.push(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
      }
      for (const w of waiters.splice(0)) w();
    }
  })().catch(() => undefined);
  const line = async (match: (l: string) => boolean, what = 'frame') =>
    withTimeout(
      (async () => {
        for (;;) {
          const found = lines.find(match);
          if (found !== undefined) return found;
          await new Promise<void>((resolve) => waiters.push(resolve));
        }
      })(),
      5000,
      what,
    );
  return { status: res.status, lines, line, done };
}

function send(base: string, body: unknown) {
  return fetch(`${base}/xhr_send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

test('a refused handshake answers the open frame then the close code pusher-js acts on', async () => {
  const unknown = await receive(`${sessionBase('no-such-key')}/xhr_streaming${QUERY}`);
  await unknown.done;
  assert.equal(unknown.lines[0], 'o');
  assert.match(unknown.lines[1]!, /^c\[4001,"App key no-such-key not in this cluster"\]$/);
  const noProtocol = await receive(`${sessionBase()}/xhr`);
  await noProtocol.done;
  assert.deepEqual(noProtocol.lines, ['o', 'c[4008,"No protocol version supplied"]']);
});

test("an Origin the app's allowedOrigins does not list is refused with 4009; a listed one opens", async () => {
  const refused = await receive(`${sessionBase('xhr-origins-key')}/xhr_streaming${QUERY}`, { origin: 'https://evil.example' });
  await refused.done;
  assert.deepEqual(refused.lines, ['o', 'c[4009,"Origin not allowed"]']);
  const allowed = await receive(`${sessionBase('xhr-origins-key')}/xhr${QUERY}`, { origin: 'https://good.example' });
  await allowed.done;
  assert.deepEqual(allowed.lines, ['o'], 'a listed origin gets an open session');
  // Its session counts against maxSessionsPerIp (3) until it idles out: later tests need the room.
  await eventually(() => h.herald.engine.connectionCount('xhr-origins-app') === 0, 5000, 'the allowed session to idle out');
});

test('unknown or invalid sessions and bad bodies get 404, 400 and 413', async () => {
  assert.equal((await send(sessionBase(), [])).status, 404, 'xhr_send to a session that does not exist');
  assert.equal((await fetch(`${h.httpUrl}/pusher/app/${h.app.key}/1/bad.id/xhr`, { method: 'POST' })).status, 404);
  const base = sessionBase();
  const poll = await receive(`${base}/xhr${QUERY}`);
  await poll.done;
  assert.deepEqual(poll.lines, ['o']);
  assert.equal((await send(base, 'not json')).status, 400);
  assert.equal((await send(base, [1, 2])).status, 400);
  assert.equal((await send(base, ['x'.repeat(3000)])).status, 413);
  assert.equal((await send(base, [])).status, 204, 'an empty array is a heartbeat');
  const next = await receive(`${base}/xhr${QUERY}`);
  await next.done;
  const established = JSON.parse(next.lines[0]!.slice(1)) as string[];
  assert.equal(JSON.parse(established[0]!).event, 'pusher:connection_established');
});

test('an xhr_send body of more than 10 messages is refused whole with 400; 10 are all delivered', async () => {
  const base = sessionBase();
  const open = await receive(`${base}/xhr${QUERY}`);
  await open.done;
  assert.deepEqual(open.lines, ['o']);
  const subscribe = (channel: string) => JSON.stringify({ event: 'pusher:subscribe', data: { channel } });
  const tooMany = await send(base, Array.from({ length: 11 }, (_, i) => subscribe(`bounds-many-${i}`)));
  assert.equal(tooMany.status, 400);
  assert.deepEqual(await tooMany.json(), { error: 'Too many messages in one xhr_send body: 11 (limit 10)' });
  assert.equal((await send(base, Array.from({ length: 10 }, (_, i) => subscribe(`bounds-ten-${i}`)))).status, 204);
  // Frames arrive in order: once the last of the ten is confirmed, anything of the refused body would have come before.
  const seen: string[] = [];
  await eventually(
    async () => {
      const poll = await receive(`${base}/xhr${QUERY}`);
      await poll.done;
      seen.push(...poll.lines);
      return seen.some((l) => l.includes('bounds-ten-9'));
    },
    5000,
    'the ten subscriptions to be confirmed',
  );
  assert.equal(seen.filter((l) => l.includes('subscription_succeeded')).join('').match(/bounds-ten-\d/g)?.length, 10);
  assert.ok(!seen.some((l) => l.includes('bounds-many')), 'nothing of the refused body was handled');
  // The session counts against maxSessionsPerIp (3) until it idles out: later tests need the room.
  // Wait for none at all, not for the count this test started with: an earlier test's session may
  // still have been open then, and it idles out too.
  await eventually(() => h.herald.engine.connectionCount(h.app.id) === 0, 5000, 'the sessions to idle out');
});

test('streaming: frames arrive as they are sent, heartbeats keep the response alive, a server close ends it', async () => {
  const base = sessionBase();
  const stream = await receive(`${base}/xhr_streaming${QUERY}`);
  assert.equal(stream.status, 200);
  await stream.line((l) => l === 'o', 'open frame');
  await stream.line((l) => l.startsWith('a') && l.includes('connection_established'), 'connection_established');
  assert.equal((await send(base, [JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'bounds-stream' } })])).status, 204);
  await stream.line((l) => l.includes('subscription_succeeded'), 'subscription_succeeded');
  await server.trigger('bounds-stream', 'ev', { n: 1 });
  const event = await stream.line((l) => l.includes('\\"event\\":\\"ev\\"'), 'API event');
  assert.deepEqual(JSON.parse(JSON.parse(event.slice(1))[0]).data, '{"n":1}');
  await stream.line((l) => l === 'h', 'heartbeat');
  h.herald.engine.closeAll(4200, 'Reconnect please');
  await stream.line((l) => l.startsWith('c'), 'close frame');
  await stream.done;
  assert.equal(stream.lines.at(-1), 'c[4200,"Reconnect please"]');
});

test('an idle session (no request for idleTimeoutMs) is closed and its connection leaves the engine', async () => {
  const before = h.herald.engine.connectionCount(h.app.id);
  const base = sessionBase();
  await (await receive(`${base}/xhr${QUERY}`)).done;
  assert.equal(h.herald.engine.connectionCount(h.app.id), before + 1);
  await eventually(() => h.herald.engine.connectionCount(h.app.id) === before, 5000, 'the idle session to close');
  const again = await receive(`${base}/xhr${QUERY}`);
  await again.done;
  assert.deepEqual(again.lines, ['o'], 'the id is forgotten: a poll opens a new session (pusher-js: "Server lost session")');
});

test('a session that does not collect its messages is closed with 4100 once maxBufferedBytes is queued', async () => {
  const base = sessionBase();
  await (await receive(`${base}/xhr${QUERY}`)).done;
  assert.equal((await send(base, [JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'bounds-buffer' } })])).status, 204);
  for (let i = 0; i < 4; i++) await server.trigger('bounds-buffer', 'big', 'x'.repeat(6000));
  const poll = await receive(`${base}/xhr${QUERY}`);
  await poll.done;
  assert.equal(poll.lines.at(-1), 'c[4100,"Client is not reading fast enough"]');
});

test('sessions per address are capped: beyond it the handshake is refused with 4100', async () => {
  await eventually(() => h.herald.engine.connectionCount(h.app.id) === 0, 5000, 'earlier sessions to time out');
  const streams = [];
  for (let i = 0; i < 3; i++) {
    const s = await receive(`${sessionBase()}/xhr_streaming${QUERY}`);
    await s.line((l) => l === 'o');
    streams.push(s);
  }
  const refused = await receive(`${sessionBase()}/xhr_streaming${QUERY}`);
  await refused.done;
  assert.deepEqual(refused.lines, ['o', 'c[4100,"Too many connections from this address"]']);
  h.herald.engine.closeAll(4200, 'done');
  await Promise.all(streams.map((s) => s.done));
});
