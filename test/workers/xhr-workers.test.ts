/**
 * pusher-js's HTTP fallbacks on a 2-worker node (`herald start --workers 2`). node:cluster hands
 * each TCP connection to the next worker, and one xhr session's requests (the receive request,
 * every xhr_send, every poll) come on several connections: without forwarding to the worker that
 * owns the session, the requests landing on the other worker get 404 and pusher-js cannot stay
 * connected. Stock pusher-js over xhr_streaming and xhr_polling: connects, subscribes, receives
 * API events from the `pusher` SDK and sends client events to a WebSocket client, several times;
 * /metrics shows requests were forwarded between the workers.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Pusher from 'pusher';
import { PusherJs, type PusherJsOptions } from '../helpers/pusher-js.js';
import { withTimeout } from '../helpers/wait.js';
import { CHILD_APP, startChildHerald, type ChildHerald } from '../ops/child-herald.js';
import { collect, subscribed, until } from '../scaling/support.js';

let node: ChildHerald;
let sdk: Pusher;
const clients: PusherJs[] = [];

function client(transport: string): PusherJs {
  const c = new PusherJs(CHILD_APP.key, {
    cluster: 'local',
    wsHost: '127.0.0.1',
    wsPort: node.port,
    httpHost: '127.0.0.1',
    httpPort: node.port,
    forceTLS: false,
    enabledTransports: [transport],
    channelAuthorization: {
      customHandler: (p: { socketId: string; channelName: string }, cb: (e: Error | null, a: unknown) => void) => cb(null, sdk.authorizeChannel(p.socketId, p.channelName)),
    },
  } as unknown as PusherJsOptions);
  clients.push(c);
  return c;
}

/** The transport pusher-js actually connected with. */
function transportOf(c: PusherJs): string | undefined {
  const connection = (c.connection as unknown as { connection?: { transport?: { name?: string }; name?: string } }).connection;
  return connection?.transport?.name ?? connection?.name;
}

async function connectedVia(c: PusherJs, transport: string): Promise<void> {
  await withTimeout(
    new Promise<void>((resolve) => (c.connection.state === 'connected' ? resolve() : c.connection.bind('connected', () => resolve()))),
    15_000,
    `pusher-js over ${transport} to connect`,
  );
  assert.equal(transportOf(c), transport);
}

async function forwarded(): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  return Number(/^herald_xhr_forwarded_requests_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

before(async () => {
  node = await startChildHerald(['--workers', '2']);
  sdk = new Pusher({ appId: CHILD_APP.id, key: CHILD_APP.key, secret: CHILD_APP.secret, host: '127.0.0.1', port: String(node.port), useTLS: false });
  await node.waitForLine(/2 workers \(pids/);
});

after(async () => {
  for (const c of clients) c.disconnect();
  await node?.cleanup();
});

for (const transport of ['xhr_streaming', 'xhr_polling']) {
  test(`pusher-js over ${transport} works across the workers`, async () => {
    const channelName = `private-xw-${transport}`;
    const before = await forwarded();
    const ws = client('ws');
    await connectedVia(ws, 'ws');
    const got = collect<{ round: number; from: number }>(await subscribed(ws, channelName), 'client-hi');

    // Four sessions: their owners (by session id) and the workers their requests land on vary.
    const xhr = [client(transport), client(transport), client(transport), client(transport)];
    const channels = [];
    for (const c of xhr) {
      await connectedVia(c, transport);
      channels.push(await subscribed(c, channelName));
    }
    const api = channels.map((ch) => collect<{ round: number }>(ch, 'api'));
    for (let round = 0; round < 3; round++) {
      await sdk.trigger(channelName, 'api', { round });
      await until(() => api.every((events) => events.length === round + 1), 15_000, `API event ${round} on every ${transport} client`);
      channels.forEach((ch, from) => ch.trigger('client-hi', { round, from }));
      await until(() => got.length === (round + 1) * xhr.length, 15_000, `client events of round ${round} at the WebSocket client`);
    }
    assert.deepEqual(api, xhr.map(() => [{ round: 0 }, { round: 1 }, { round: 2 }]));
    assert.deepEqual(
      [...got].sort((a, b) => a.round - b.round || a.from - b.from),
      [0, 1, 2].flatMap((round) => [0, 1, 2, 3].map((from) => ({ round, from }))),
    );
    for (const c of xhr) assert.equal(c.connection.state, 'connected', 'no session was lost');
    assert.ok((await forwarded()) > before, 'requests reached the worker that does not own their session and were forwarded');
    for (const c of [ws, ...xhr]) c.disconnect();
  });
}
