/**
 * HERALD_TEST_WORKERS=N: startTestHerald runs the node as N workers around one hub, as
 * `herald start --workers N` does, but in this process (tests reach `herald` objects): N Heralds
 * on their own ports, each wired to a NodeHub through a structured-clone channel, behind a
 * round-robin TCP proxy standing in for node:cluster's shared port. `herald` is worker 0's.
 */
import { EventEmitter } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { App } from '../../src/apps/app.js';
import type { HeraldConfig } from '../../src/config/schema.js';
import { startHerald, type Herald } from '../../src/server/herald.js';
import type { Logger } from '../../src/platform/logger.js';
import type { HeraldModule } from '../../src/core/module.js';
import { NodeHub } from '../../src/workers/hub.js';
import { IpcPeer, type IpcEndpoint } from '../../src/platform/ipc.js';
import { OwnedStore } from '../../src/workers/owned-store.js';
import { workerParts } from '../../src/workers/worker.js';

export function testWorkers(): number {
  const n = Number(process.env.HERALD_TEST_WORKERS ?? 1);
  return Number.isInteger(n) && n > 1 ? n : 1;
}

function channel(): [IpcEndpoint, IpcEndpoint] {
  const a = new EventEmitter() as IpcEndpoint & EventEmitter;
  const b = new EventEmitter() as IpcEndpoint & EventEmitter;
  a.send = (m) => (setImmediate(() => b.emit('message', structuredClone(m))), true);
  b.send = (m) => (setImmediate(() => a.emit('message', structuredClone(m))), true);
  return [a, b];
}

/** Hands each new connection to the next port in turn. */
class RoundRobinProxy {
  port = 0;
  private next = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  constructor(private readonly ports: number[]) {
    this.server = createServer((client) => {
      const upstream = connect(this.ports[this.next++ % this.ports.length]!, '127.0.0.1');
      this.sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

export interface WorkersNode {
  /** Port of the proxy: what clients use. */
  port: number;
  heralds: Herald[];
  stop(): Promise<void>;
}

export async function startWorkersNode(count: number, config: HeraldConfig, apps: App[], logger: Logger, modules?: () => HeraldModule[]): Promise<WorkersNode> {
  const store = new OwnedStore(config, logger);
  const hub = new NodeHub(() => store.open());
  const heralds: Herald[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const [hubSide, workerSide] = channel();
      const node = `test-worker-${i}`;
      hub.attach(node, new IpcPeer(hubSide));
      const parts = workerParts(new IpcPeer(workerSide), { ...config, workers: count }, node, modules?.());
      const { disconnected: _, ...options } = parts;
      heralds.push(await startHerald({ config, apps, logger, ...options, modules: options.modules }));
      hub.ready(node);
    }
  } catch (err) {
    await Promise.allSettled(heralds.map((h) => h.close()));
    await store.close();
    throw err;
  }
  const proxy = new RoundRobinProxy(heralds.map((h) => h.port));
  await proxy.start();
  // As the supervisor does with the shared port: `herald apps` finds the node through the lock.
  store.setUrl(`http://127.0.0.1:${proxy.port}`);
  return {
    port: proxy.port,
    heralds,
    async stop() {
      await proxy.stop();
      await Promise.allSettled(heralds.map((h) => h.close()));
      hub.stop();
      await store.close();
    },
  };
}
