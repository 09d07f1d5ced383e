/** The console's publish API without a browser: seed 004 — the console cannot publish client events. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { RawClient } from '../helpers/raw-client.js';

const ADMIN_TOKEN = 'console-api-test-admin-token-456';
let h: TestHerald;
before(async () => {
  h = await startTestHerald({ config: { adminToken: ADMIN_TOKEN } });
});
after(() => h.stop());

function publish(channel: string, event: string, data: unknown) {
  return fetch(`${h.httpUrl}/console/api/apps/${h.app.id}/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channel, event, data }),
  });
}

test('the console refuses client-* events with 400 and delivers nothing; other events are published', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  raw.send({ event: 'pusher:subscribe', data: { channel: 'console-client-ev' } });
  await raw.waitEvent('pusher_internal:subscription_succeeded', 'console-client-ev');

  const refused = await publish('console-client-ev', 'client-typing', '{}');
  assert.equal(refused.status, 400);
  assert.match(((await refused.json()) as { error: string }).error, /client events/);

  const ok = await publish('console-client-ev', 'server-event', '{"n":1}');
  assert.equal(ok.status, 200);
  const frame = await raw.waitEvent('server-event', 'console-client-ev');
  assert.deepEqual(frame.data, { n: 1 });
  assert.equal(raw.frames.some((f) => f.event === 'client-typing'), false, 'the refused client event was never delivered');
  raw.close();
});
