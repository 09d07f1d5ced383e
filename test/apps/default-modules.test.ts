/** With every default module: a stored app's webhooks are sent and counted in its usage. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestHerald } from '../helpers/herald.js';
import { eventually, nextEvent } from '../helpers/wait.js';
import { admin, ADMIN_TOKEN, clientFor, connected, unique } from './support.js';

test('webhooks sent for a stored app are counted in its stats', async () => {
  const received: string[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push(body);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const h = await startTestHerald({ config: { adminToken: ADMIN_TOKEN, webhookBatchWindowMs: 0 } });
  try {
    const app = (await admin(h, 'POST', '/admin/apps', { id: unique('hooks'), webhooks: [{ url, events: ['channel_occupied'] }] })).body;
    const client = clientFor(h, app.key);
    try {
      await connected(client);
      await nextEvent(client.subscribe('watched'), 'pusher:subscription_succeeded');
      await eventually(() => received.length > 0, 10_000, 'the channel_occupied webhook');
      assert.match(received[0]!, /channel_occupied/);
      const stats = await eventually(async () => {
        const body = (await admin(h, 'GET', `/admin/apps/${app.id}/stats`)).body;
        return body.today.webhooksSent >= 1 ? body : undefined;
      }, 5000, 'webhooksSent to count the request');
      assert.equal(stats.today.webhooksSent, 1);
    } finally {
      client.disconnect();
    }
  } finally {
    await h.stop();
    receiver.close();
  }
});
