/**
 * deploy/nginx-herald.conf — the stickiness rule docs/protocol.md gives — in front of two Herald
 * nodes sharing Redis: stock pusher-js over xhr_polling and xhr_streaming connects through nginx,
 * subscribes (its xhr_send requests must reach the node holding its session) and receives an event
 * published on the other node. Needs an nginx binary (PATH, /usr/sbin/nginx or HERALD_NGINX) and Redis.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { nextEvent } from '../helpers/wait.js';
import { cleanupNamespace, portOpen, REDIS_URL, serviceUp, uniqueId } from '../scaling/support.js';
import { xhrTransportsModule } from '../../src/transports/xhr/module.js';
import { XHR_SERVICE } from '../../src/transports/xhr/module.js';
import type { XhrGateway } from '../../src/transports/xhr/gateway.js';

function findNginx(): string | undefined {
  const candidates = [process.env.HERALD_NGINX, ...(process.env.PATH ?? '').split(':').map((d) => join(d, 'nginx')), '/usr/sbin/nginx'];
  return candidates.find((c): c is string => !!c && existsSync(c));
}

const nginxBinary = findNginx();
let skip: string | undefined;
let nodes: TestHerald[] = [];
let nginx: ChildProcess | undefined;
let nginxPort = 0;
let dir = '';
let prefix = '';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

before(async () => {
  if (!nginxBinary) return void (skip = 'no nginx binary (set HERALD_NGINX or install nginx) to test deploy/nginx-herald.conf');
  if (!(await serviceUp('redis'))) return void (skip = 'Redis is not reachable at 127.0.0.1:6379');
  prefix = uniqueId('xhrlb').replace(/-/g, '_');
  const app = { id: uniqueId('app'), key: uniqueId('key'), secret: 'lb-secret-123456' };
  const config = { broker: 'redis' as const, clusterPrefix: prefix, redisUrl: REDIS_URL };
  for (let i = 0; i < 2; i++) nodes.push(await startTestHerald({ app, config, modules: [xhrTransportsModule()] }));

  dir = mkdtempSync(join(tmpdir(), 'herald-nginx-'));
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
  nginxPort = await freePort();
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k, i) => `    ${k}_temp_path ${join(dir, ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'][i]!)};`).join('\n');
  const conf = readFileSync('deploy/nginx-herald.conf', 'utf8')
    .replace(/server 10\.0\.0\.1:6001;\s*server 10\.0\.0\.2:6001;/, nodes.map((n) => `server 127.0.0.1:${n.port};`).join(' '))
    .replace('listen 80;', `listen 127.0.0.1:${nginxPort};`)
    .replace('http {', `http {\n    access_log off;\n${temp}`);
  assert.ok(conf.includes(`server 127.0.0.1:${nodes[1]!.port};`), 'the example config keeps its upstream shape');
  writeFileSync(join(dir, 'nginx.conf'), conf);
  nginx = spawn(nginxBinary, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', `daemon off; pid ${join(dir, 'nginx.pid')};`], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (!(await portOpen(nginxPort))) {
    if (Date.now() > deadline || nginx.exitCode !== null) throw new Error(`nginx did not start: ${existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});

after(async () => {
  nginx?.kill('SIGTERM');
  await Promise.allSettled(nodes.map((n) => n.stop()));
  if (prefix) await cleanupNamespace('redis', prefix);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

for (const transport of ['xhr_polling', 'xhr_streaming']) {
  test(`pusher-js over ${transport} through nginx's session hash: every client works, events cross nodes`, async (t) => {
    if (skip) return t.skip(skip);
    const clients = Array.from({ length: 4 }, () =>
      nodes[0]!.pusherClient({ httpHost: '127.0.0.1', httpPort: nginxPort, enabledTransports: [transport] }),
    );
    try {
      const channels = await Promise.all(
        clients.map(async (c) => {
          const channel = c.subscribe(`lb-${transport}`);
          await nextEvent(channel, 'pusher:subscription_succeeded', 15_000);
          return channel;
        }),
      );
      const sessions = nodes.map((n) => (n.herald.services.get(XHR_SERVICE) as XhrGateway).countByKind()[transport as 'xhr_polling']);
      assert.equal(sessions[0]! + sessions[1]!, 4, `sessions per node: ${sessions}`);
      const received = channels.map((ch) => nextEvent(ch, 'hello', 10_000));
      await nodes[1]!.pusherServer().trigger(`lb-${transport}`, 'hello', { via: 'node 1' });
      assert.deepEqual(await Promise.all(received), Array(4).fill({ via: 'node 1' }));
    } finally {
      for (const c of clients) c.disconnect();
    }
  });
}
