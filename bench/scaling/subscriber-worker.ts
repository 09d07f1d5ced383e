/**
 * A subscriber process of the scaling benchmark (several run side by side, so receiving is not
 * limited to one core). Talks to the parent over IPC:
 *   ← {type:'connect', ports, app, count, offset, channels}   → {type:'connected'}
 *   ← {type:'record', on}                                     → (nothing)
 *   ← {type:'report'}  → {type:'report', deliveries, samples}  (latencies in ms)
 * Latency uses the wall clock with sub-millisecond precision (performance.timeOrigin + now()),
 * which all processes on the machine share.
 */
import WebSocket from 'ws';

interface App {
  id: string;
  key: string;
  secret: string;
}

type Command =
  | { type: 'connect'; ports: number[]; app: App; count: number; offset: number; channels: number }
  | { type: 'record'; on: boolean }
  | { type: 'report' }
  | { type: 'close' };

const sockets: WebSocket[] = [];
let deliveries = 0;
let recording = false;
const samples: number[] = [];
const now = () => performance.timeOrigin + performance.now();

function open(port: number, app: App, channel: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/app/${app.key}?protocol=7&client=bench&version=1`);
    sockets.push(ws);
    const timer = setTimeout(() => reject(new Error('subscribe timed out')), 30_000);
    ws.on('error', reject);
    ws.on('message', (raw: Buffer) => {
      const text = raw.toString('utf8');
      // The payload is {"t":<sent at>,...}, escaped inside the frame's data string.
      const at = text.indexOf('"t\\":');
      if (at >= 0) {
        deliveries++;
        if (recording) samples.push(now() - Number.parseFloat(text.slice(at + 5)));
        return;
      }
      if (text.includes('pusher:connection_established')) ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel } }));
      else if (text.includes('subscription_succeeded')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

process.on('message', (command: Command) => {
  void (async () => {
    switch (command.type) {
      case 'connect': {
        const { ports, app, count, offset, channels } = command;
        for (let start = 0; start < count; start += 50) {
          await Promise.all(
            Array.from({ length: Math.min(50, count - start) }, (_, k) => {
              const i = offset + start + k;
              return open(ports[i % ports.length]!, app, `bench-${i % channels}`);
            }),
          );
        }
        process.send!({ type: 'connected' });
        break;
      }
      case 'record':
        recording = command.on;
        break;
      case 'report':
        process.send!({ type: 'report', deliveries, samples });
        break;
      case 'close':
        for (const ws of sockets) ws.terminate();
        process.exit(0);
    }
  })().catch((err: unknown) => {
    process.send!({ type: 'error', message: String(err) });
  });
});
