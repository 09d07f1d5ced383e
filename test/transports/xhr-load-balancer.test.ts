/**
 * deploy/nginx-herald.conf — the stickiness rule docs/protocol.md gives — in front of two Herald
 * nodes sharing Redis: stock pusher-js over xhr_polling and xhr_streaming connects through nginx,
 * subscribes (its xhr_send requests must reach the node holding its session) and receives an event
 * published on the other node. Needs an nginx binary (PATH, /usr/sbin/nginx or HERALD_NGINX) and Redis.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { findNginx, startNginx, type RunningNginx } from '../helpers/nginx.js';
import { nextEvent } from '../helpers/wait.js';
import { cleanupNamespace, REDIS_URL, serviceUp, uniqueId } from '../scaling/support.js';
import { xhrTransportsModule } from '../../src/transports/xhr/module.js';
import { XHR_SERVICE } from '../../src/transports/xhr/module.js';
import type { XhrGateway } from '../../src/transports/xhr/gateway.js';

const nginxBinary = findNginx();
let skip: string | undefined;
let nodes: TestHerald[] = [];
let nginx: RunningNginx | undefined;
let nginxPort = 0;
let prefix = '';

before(async () => {
  if (!nginxBinary) return void (skip = 'no nginx binary (set HERALD_NGINX or install nginx) to test deploy/nginx-herald.conf');
  if (!(await serviceUp('redis'))) return void (skip = 'Redis is not reachable at 127.0.0.1:6379');
  prefix = uniqueId('xhrlb').replace(/-/g, '_');
  const app = { id: uniqueId('app'), key: uniqueId('key'), secret: 'lb-secret-123456' };
  const config = { broker: 'redis' as const, clusterPrefix: prefix, redisUrl: REDIS_URL };
  for (let i = 0; i < 2; i++) nodes.push(await startTestHerald({ app, config, modules: [xhrTransportsModule()] }));
  nginx = await startNginx(nginxBinary, nodes.map((n) => n.port));
  nginxPort = nginx.port;
});

after(async () => {
  nginx?.stop();
  await Promise.allSettled(nodes.map((n) => n.stop()));
  if (prefix) await cleanupNamespace('redis', prefix);
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
