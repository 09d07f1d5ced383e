/** /health, /ready and the graceful-shutdown sequence of Herald.close(), in process. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { configSchema } from '../../src/config/schema.js';
import { startHerald } from '../../src/server/herald.js';
import { createLogger } from '../../src/platform/logger.js';
import { MemoryBroker } from '../../src/scaling/memory-broker.js';
import { parseApp } from '../../src/apps/app.js';
import type { HttpContext, Router } from '../../src/platform/router.js';
import { startTestHerald } from '../helpers/herald.js';
import { withTimeout } from '../helpers/wait.js';

class FlakyBroker extends MemoryBroker {
  up = true;
  override healthy(): boolean {
    return this.up;
  }
}

/** Calls GET /ready through the router (the listener is closed while draining). */
async function readyViaRouter(router: Router): Promise<{ status: number; body: unknown }> {
  const match = router.match('GET', '/ready');
  assert.ok(match && match !== 'method');
  const out = { status: 0, body: undefined as unknown };
  const res = {
    headersSent: false,
    writeHead(status: number) {
      out.status = status;
      return this;
    },
    end(text: string) {
      out.body = JSON.parse(text);
    },
  };
  await match.handler({ res } as unknown as HttpContext);
  return out;
}

test('/health is always 200; /ready reports broker and module problems', async (t) => {
  const broker = new FlakyBroker();
  const herald = await startHerald({
    config: configSchema.parse({ host: '127.0.0.1', port: 0, dataDir: '/nonexistent-not-opened' }),
    apps: [parseApp({ id: 'ready-app', key: 'ready-key', secret: 'ready-secret' })],
    logger: createLogger('silent', false),
    broker,
  });
  t.after(() => herald.close());

  const get = async (path: string) => {
    const res = await fetch(`${herald.url}${path}`);
    return { status: res.status, body: await res.json() };
  };
  assert.deepEqual(await get('/health'), { status: 200, body: { status: 'ok' } });
  assert.deepEqual(await get('/ready'), { status: 200, body: { status: 'ready' } });

  broker.up = false;
  assert.deepEqual(await get('/ready'), { status: 503, body: { status: 'not ready', problems: ['broker memory unavailable'] } });
  assert.equal((await get('/health')).status, 200, 'liveness does not depend on dependencies');
  broker.up = true;

  let storeDown = true;
  herald.hooks.readiness.push(() => (storeDown ? 'database unavailable: connection refused' : undefined));
  assert.deepEqual(await get('/ready'), { status: 503, body: { status: 'not ready', problems: ['database unavailable: connection refused'] } });
  storeDown = false;
  assert.equal((await get('/ready')).status, 200);
});

test('close(): 4200 to clients, readiness fails, drain runs after the sockets closed, then stop', async () => {
  const h = await startTestHerald();
  const events: string[] = [];
  h.herald.engine.observe({ connectionClosed: () => events.push('connection closed') });
  let releaseDrain!: () => void;
  const drainStarted = new Promise<void>((started) => {
    h.herald.hooks.drain.push(async () => {
      events.push('drain');
      started();
      await new Promise<void>((release) => (releaseDrain = release));
    });
  });

  const ws = new WebSocket(`${h.wsUrl}/app/${h.app.key}?protocol=7`);
  await new Promise((resolve, reject) => ws.once('message', resolve).once('error', reject));
  const closeCode = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

  const closing = h.herald.close();
  assert.equal(h.herald.draining, true);
  assert.equal(await withTimeout(closeCode, 5000, 'close frame'), 4200);
  await withTimeout(drainStarted, 5000, 'drain hook');
  assert.deepEqual(events, ['connection closed', 'drain'], 'webhooks produced by the closes are flushed by the drain');
  const ready = await readyViaRouter(h.herald.router);
  assert.equal(ready.status, 503);
  assert.deepEqual(ready.body, { status: 'not ready', problems: ['draining'] });

  releaseDrain();
  await withTimeout(closing, 5000, 'close() to finish');
  assert.equal(h.herald.server.listening, false);
});

test('close() is bounded by shutdownTimeoutMs even when a drain never finishes', async () => {
  const h = await startTestHerald({ config: { shutdownTimeoutMs: 200 } });
  h.herald.hooks.drain.push(() => new Promise<void>(() => undefined));
  await withTimeout(h.stop(), 5000, 'bounded close');
});
