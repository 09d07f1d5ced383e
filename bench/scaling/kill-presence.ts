/**
 * Measures how long a SIGKILLed node's presence members take to disappear from the survivors:
 * two `herald start` nodes on one broker, a member on each, SIGKILL one, time until the other's
 * client receives member_removed. Usage: node --import tsx bench/scaling/kill-presence.ts [redis|nats]
 */
import { spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import WebSocket from 'ws';

const broker = process.argv[2] ?? 'redis';
const app = { id: 'kp', key: 'kp-key', secret: 'kp-secret-123' };
const prefix = `kp-${randomUUID().slice(0, 8)}`;

function startNode(port: number) {
  const child = spawn(process.execPath, ['bin/herald.js', 'start', '--port', String(port), '--host', '127.0.0.1'], {
    env: { ...process.env, HERALD_BROKER: broker, HERALD_CLUSTER_PREFIX: prefix, HERALD_APP_ID: app.id, HERALD_APP_KEY: app.key, HERALD_APP_SECRET: app.secret, HERALD_LOG_LEVEL: 'warn', HERALD_DATA_DIR: `/tmp/killm/${prefix}-${port}` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise<typeof child>((resolve) => child.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve(child)));
}

function member(port: number, userId: string, onFrame: (f: { event: string; data?: string }) => void): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/app/${app.key}?protocol=7&client=kp&version=1`);
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString());
      if (frame.event === 'pusher:connection_established') {
        const socketId = JSON.parse(frame.data).socket_id;
        const channelData = JSON.stringify({ user_id: userId });
        const auth = `${app.key}:${createHmac('sha256', app.secret).update(`${socketId}:presence-kp:${channelData}`).digest('hex')}`;
        ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'presence-kp', auth, channel_data: channelData } }));
      } else if (frame.event === 'pusher_internal:subscription_succeeded') resolve();
      onFrame(frame);
    });
  });
}

const [a, b] = [await startNode(17601), await startNode(17602)];
let addedSeen!: () => void;
const added = new Promise<void>((r) => (addedSeen = r));
let removedAt = 0;
let removedSeen!: () => void;
const removed = new Promise<void>((r) => (removedSeen = r));
await member(17601, 'survivor', (f) => {
  if (f.event === 'pusher_internal:member_added') addedSeen();
  if (f.event === 'pusher_internal:member_removed') {
    removedAt = performance.now();
    removedSeen();
  }
});
await member(17602, 'victim', () => undefined);
await added;
const killedAt = performance.now();
b.kill('SIGKILL');
await removed;
console.log(`${broker}: member of the SIGKILLed node removed after ${((removedAt - killedAt) / 1000).toFixed(1)} s (HERALD_NODE_TIMEOUT_MS default 15000)`);
a.kill('SIGTERM');
process.exit(0);
