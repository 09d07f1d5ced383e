/**
 * Reference floor server for `npm run bench -- --reference`. NOT Herald and not for production.
 *
 * It answers just the protocol the bench's clients and publisher use, with the least work a
 * correct Pusher-style server must do: one JSON serialization and one WebSocket frame per
 * broadcast, and one write of those same bytes per subscriber, corked per socket and uncorked
 * at the end of the event-loop pass (the batching Herald does). No authentication, signature
 * checks, validation, limits, metrics, store, webhooks or cluster. Whatever Herald costs above
 * what this costs on the same machine and scenario is Herald's own overhead; what this costs is
 * the floor (mostly the kernel's loopback TCP work charged to the writer).
 *
 *   node --import tsx bench/reference/floor-server.ts [--host 127.0.0.1] [--port 6001]
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';

/** A client that stops reading must not grow the server without bound (Herald closes it too). */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

interface Member {
  userId: string;
  info: unknown;
}

interface Conn {
  ws: WebSocket;
  socket: Socket;
  /** Channel → presence member (undefined for public channels). */
  channels: Map<string, Member | undefined>;
}

interface Channel {
  subscribers: Set<Conn>;
  /** Presence only: user id → { info, connections of that user }, so a user leaves with its last connection. */
  users: Map<string, { info: unknown; count: number }>;
}

const channels = new Map<string, Channel>();

/** Unmasked final text frame (RFC 6455 §5.2) around `text`; built once per broadcast. */
function frame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(header + length);
  out[0] = 0x81;
  if (header === 2) {
    out[1] = length;
  } else if (header === 4) {
    out[1] = 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = 127;
    out.writeBigUInt64BE(BigInt(length), 2);
  }
  out.write(text, header, 'utf8');
  return out;
}

// Every socket written to during this pass of the event loop stays corked until the check phase,
// so all frames one socket gets from the publishes handled in one pass leave in a single writev.
const corked = new Set<Socket>();
function uncorkAll(): void {
  for (const socket of corked) socket.uncork();
  corked.clear();
}

function send(conn: Conn, bytes: Buffer): void {
  const socket = conn.socket;
  if (socket.destroyed) return;
  if (socket.writableLength > MAX_BUFFERED_BYTES) {
    socket.destroy();
    return;
  }
  if (!corked.has(socket)) {
    if (corked.size === 0) setImmediate(uncorkAll);
    socket.cork();
    corked.add(socket);
  }
  socket.write(bytes);
}

/** `data` of Pusher events is a JSON string; objects are stringified once. */
function message(event: string, channel: string | undefined, data: unknown): Buffer {
  const payload = typeof data === 'string' ? data : JSON.stringify(data ?? {});
  return frame(JSON.stringify(channel === undefined ? { event, data: payload } : { event, channel, data: payload }));
}

function broadcast(channel: Channel, bytes: Buffer, except?: Conn): void {
  for (const conn of channel.subscribers) if (conn !== except) send(conn, bytes);
}

function subscribe(conn: Conn, name: string, channelData: unknown): void {
  if (conn.channels.has(name)) return;
  let channel = channels.get(name);
  if (!channel) {
    channel = { subscribers: new Set(), users: new Map() };
    channels.set(name, channel);
  }
  if (!name.startsWith('presence-')) {
    conn.channels.set(name, undefined);
    channel.subscribers.add(conn);
    send(conn, message('pusher_internal:subscription_succeeded', name, '{}'));
    return;
  }
  // No auth check: the floor trusts channel_data as it comes.
  let member: Member = { userId: String(conn.socket.remotePort), info: {} };
  try {
    const parsed = JSON.parse(typeof channelData === 'string' ? channelData : '{}') as { user_id?: unknown; user_info?: unknown };
    if (parsed.user_id !== undefined) member = { userId: String(parsed.user_id), info: parsed.user_info ?? {} };
  } catch {
    /* keep the fallback member */
  }
  conn.channels.set(name, member);
  channel.subscribers.add(conn);
  const user = channel.users.get(member.userId);
  if (user) user.count++;
  else {
    channel.users.set(member.userId, { info: member.info, count: 1 });
    broadcast(channel, message('pusher_internal:member_added', name, { user_id: member.userId, user_info: member.info }), conn);
  }
  // The protocol's presence hash lists every member, so a joining client learns who is there.
  const ids = [...channel.users.keys()];
  const hash: Record<string, unknown> = {};
  for (const [id, u] of channel.users) hash[id] = u.info;
  send(conn, message('pusher_internal:subscription_succeeded', name, { presence: { ids, hash, count: ids.length } }));
}

function unsubscribe(conn: Conn, name: string): void {
  if (!conn.channels.has(name)) return;
  const member = conn.channels.get(name);
  conn.channels.delete(name);
  const channel = channels.get(name);
  if (!channel) return;
  channel.subscribers.delete(conn);
  if (member) {
    const user = channel.users.get(member.userId);
    if (user && --user.count === 0) {
      channel.users.delete(member.userId);
      broadcast(channel, message('pusher_internal:member_removed', name, { user_id: member.userId }));
    }
  }
  if (channel.subscribers.size === 0) channels.delete(name);
}

function onFrame(conn: Conn, raw: RawData): void {
  let msg: { event?: unknown; data?: unknown };
  try {
    msg = JSON.parse(raw.toString()) as typeof msg;
  } catch {
    return;
  }
  let data = msg.data as Record<string, unknown> | string | undefined;
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data) as Record<string, unknown>;
    } catch {
      data = undefined;
    }
  }
  const channel = typeof data === 'object' && data !== null && typeof data.channel === 'string' ? data.channel : undefined;
  switch (msg.event) {
    case 'pusher:subscribe':
      if (channel !== undefined) subscribe(conn, channel, (data as Record<string, unknown>).channel_data);
      return;
    case 'pusher:unsubscribe':
      if (channel !== undefined) unsubscribe(conn, channel);
      return;
    case 'pusher:ping':
      send(conn, message('pusher:pong', undefined, '{}'));
      return;
    default:
      return; // pong, client events…: nothing the bench needs
  }
}

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
const socketIdPrefix = Math.floor(Math.random() * 1e9);
let nextSocketId = 0;

function accept(ws: WebSocket, socket: Socket): void {
  const conn: Conn = { ws, socket, channels: new Map() };
  const socketId = `${socketIdPrefix}.${++nextSocketId}`;
  ws.on('message', (raw) => onFrame(conn, raw));
  ws.on('error', () => undefined);
  // A leave by disconnect: same member_removed fan-out as an unsubscribe.
  ws.on('close', () => {
    for (const name of [...conn.channels.keys()]) unsubscribe(conn, name);
  });
  send(conn, message('pusher:connection_established', undefined, JSON.stringify({ socket_id: socketId, activity_timeout: 120 })));
}

/** POST /apps/{id}/events: parse, fan out, `200 {}`. No signature check on purpose. */
function publish(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let body: { name?: unknown; channels?: unknown; channel?: unknown; data?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid JSON"}');
      return;
    }
    const names = Array.isArray(body.channels) ? body.channels : typeof body.channel === 'string' ? [body.channel] : [];
    const event = String(body.name ?? '');
    for (const name of names) {
      const channel = channels.get(String(name));
      // One serialization and one frame per channel, the same bytes written to every subscriber.
      if (channel) broadcast(channel, message(event, String(name), body.data));
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
}

const server = http.createServer((req, res) => {
  const [path = '/'] = (req.url ?? '/').split('?', 1);
  if (req.method === 'POST' && /^\/apps\/[^/]+\/events$/.test(path)) {
    publish(req, res);
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
});

server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
  socket.on('error', () => socket.destroy());
  const [path = '/'] = (req.url ?? '/').split('?', 1);
  if (!/^\/app\/[^/]+$/.test(path)) {
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => accept(ws, socket));
});

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return (i >= 0 ? process.argv[i + 1] : undefined) ?? fallback;
}

const host = option('--host', '127.0.0.1');
const port = Number(option('--port', '6001'));
server.listen(port, host, () => console.log(`reference floor server listening on ${host}:${port}`));
// The bench stops servers with SIGTERM and expects exit code 0.
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
