/** Seed 001: every `pusher:error` carries a numeric code from Pusher's documented ranges. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { RawClient } from '../helpers/raw-client.js';
import { nextEvent } from '../helpers/wait.js';

let h: TestHerald;
before(async () => {
  h = await startTestHerald();
});
after(() => h.stop());

test('refused frames get pusher:error 4300 ("any other error"), auth refusals 4009; the socket stays open', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  const cases: Array<[unknown, number, RegExp]> = [
    ['not json', 4300, /^Invalid message/],
    [{ event: 'pusher:bogus' }, 4300, /^Unsupported event/],
    [{ event: 'pusher:subscribe', data: { channel: 'bad name!' } }, 4300, /channel name/i],
    [{ event: 'client-x', channel: 'public-x', data: {} }, 4300, /^Client event rejected/],
    [{ event: 'pusher:subscribe', data: { channel: 'private-x', auth: 'k:00' } }, 4009, /^Invalid signature/],
  ];
  for (const [frame, code, message] of cases) {
    raw.send(frame);
    const error = await raw.waitEvent('pusher:error');
    assert.equal(error.data.code, code, JSON.stringify(frame));
    assert.match(error.data.message, message);
  }
  raw.send({ event: 'pusher:ping', data: {} });
  await raw.waitEvent('pusher:pong');
  raw.close();
});

test('pusher-js reports a numeric pusher:error code and stays connected', async () => {
  const client = h.pusherClient();
  await nextEvent(client.connection, 'connected');
  const error = nextEvent<{ type: string; data: { code: number } }>(client.connection, 'error');
  client.send_event('pusher:subscribe', { channel: 'private-no-auth', auth: 'nope' });
  const reported = await error;
  assert.equal(reported.type, 'PusherError');
  assert.equal(reported.data.code, 4009);
  assert.equal(client.connection.state, 'connected');
  client.disconnect();
});
