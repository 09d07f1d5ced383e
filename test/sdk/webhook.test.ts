/** validateWebhook against the spec vector (C.1) and the official SDK's webhook().isValid() semantics (C.4). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import Pusher from 'pusher';
import { ChannelsClient, HeraldValidationError } from '../../src/sdk/index.js';

const APP = { appId: '3', key: '278d425bdf160c739803', secret: '7ad3773142a6692b25b8', host: 'localhost' };
const EXTRA = { key: 'old-key', secret: 'old-secret' };
const BODY = '{"time_ms":1327078148132,"events":[{"name":"channel_occupied","channel":"my-channel"}]}';

const sign = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('hex');

test('C.1 vector: signature of the sample body', async () => {
  assert.equal(sign(APP.secret, BODY), 'c19001ae3963ccb13bf618e5b16ba9848e7e74df0993aa0689168e341c6833cf');
  const client = new ChannelsClient(APP);
  const result = await client.validateWebhook({
    headers: { 'content-type': 'application/json', 'x-pusher-key': APP.key, 'x-pusher-signature': 'c19001ae3963ccb13bf618e5b16ba9848e7e74df0993aa0689168e341c6833cf' },
    rawBody: BODY,
  });
  assert.equal(result.valid, true);
  assert.ok(result.valid);
  assert.deepEqual(result.events, [{ name: 'channel_occupied', channel: 'my-channel' }]);
  assert.equal(result.time.getTime(), 1327078148132);
  assert.equal(result.key, APP.key);
});

test('same verdict as the official SDK on a matrix of webhooks', async () => {
  const ours = new ChannelsClient(APP);
  const theirs = new Pusher(APP as Pusher.Options);
  const good = sign(APP.secret, BODY);
  const cases: Array<{ name: string; headers: Record<string, string>; body: string; extra?: Array<{ key: string; secret: string }> }> = [
    { name: 'valid', headers: { 'content-type': 'application/json', 'x-pusher-key': APP.key, 'x-pusher-signature': good }, body: BODY },
    { name: 'bad signature', headers: { 'content-type': 'application/json', 'x-pusher-key': APP.key, 'x-pusher-signature': good.replace(/.$/, '0') }, body: BODY },
    { name: 'upper-case hex', headers: { 'content-type': 'application/json', 'x-pusher-key': APP.key, 'x-pusher-signature': good.toUpperCase() }, body: BODY },
    { name: 'unknown key', headers: { 'content-type': 'application/json', 'x-pusher-key': 'nope', 'x-pusher-signature': good }, body: BODY },
    { name: 'charset in content-type', headers: { 'content-type': 'application/json; charset=utf-8', 'x-pusher-key': APP.key, 'x-pusher-signature': good }, body: BODY },
    { name: 'not JSON', headers: { 'content-type': 'application/json', 'x-pusher-key': APP.key, 'x-pusher-signature': sign(APP.secret, '{oops') }, body: '{oops' },
    { name: 'JSON null', headers: { 'content-type': 'application/json', 'x-pusher-key': APP.key, 'x-pusher-signature': sign(APP.secret, 'null') }, body: 'null' },
    { name: 'body modified', headers: { 'content-type': 'application/json', 'x-pusher-key': APP.key, 'x-pusher-signature': good }, body: BODY.replace('my-channel', 'my-channeL') },
    { name: 'extra token', headers: { 'content-type': 'application/json', 'x-pusher-key': EXTRA.key, 'x-pusher-signature': sign(EXTRA.secret, BODY) }, body: BODY, extra: [EXTRA] },
    { name: 'extra token not passed', headers: { 'content-type': 'application/json', 'x-pusher-key': EXTRA.key, 'x-pusher-signature': sign(EXTRA.secret, BODY) }, body: BODY },
    { name: 'primary key, extra secret', headers: { 'content-type': 'application/json', 'x-pusher-key': APP.key, 'x-pusher-signature': sign(EXTRA.secret, BODY) }, body: BODY, extra: [EXTRA] },
    { name: 'utf-8 body', headers: { 'content-type': 'application/json', 'x-pusher-key': APP.key, 'x-pusher-signature': sign(APP.secret, '{"time_ms":1,"events":[{"name":"client_event","data":"ü☃"}]}') }, body: '{"time_ms":1,"events":[{"name":"client_event","data":"ü☃"}]}' },
  ];
  for (const c of cases) {
    const official = theirs.webhook({ headers: c.headers, rawBody: c.body });
    const expected = official.isValid(c.extra as never);
    const result = await ours.validateWebhook({ headers: c.headers, rawBody: c.body, additionalTokens: c.extra });
    assert.equal(result.valid, expected, c.name);
    if (result.valid) {
      assert.deepEqual(result.data, official.getData(), c.name);
      if (official.getData() !== null) assert.deepEqual(result.time, official.getTime(), c.name);
    }
  }
});

test('invalid webhooks report why; header names may use any case or a Headers object', async () => {
  const client = new ChannelsClient(APP);
  const signature = sign(APP.secret, BODY);
  const capitalized = await client.validateWebhook({ headers: { 'Content-Type': 'application/json', 'X-Pusher-Key': APP.key, 'X-Pusher-Signature': signature }, rawBody: BODY });
  assert.equal(capitalized.valid, true);
  const fetchHeaders = new Headers({ 'content-type': 'application/json', 'x-pusher-key': APP.key, 'x-pusher-signature': signature });
  assert.equal((await client.validateWebhook({ headers: fetchHeaders, rawBody: new TextEncoder().encode(BODY) })).valid, true);

  const wrongType = await client.validateWebhook({ headers: { 'content-type': 'text/plain', 'x-pusher-key': APP.key, 'x-pusher-signature': signature }, rawBody: BODY });
  assert.deepEqual(wrongType.valid ? undefined : wrongType.reason, 'content_type');
  const noSignature = await client.validateWebhook({ headers: { 'content-type': 'application/json', 'x-pusher-key': APP.key }, rawBody: BODY });
  assert.deepEqual(noSignature.valid ? undefined : noSignature.reason, 'signature');
  const badJson = await client.validateWebhook({ headers: { 'content-type': 'application/json' }, rawBody: '{' });
  assert.deepEqual(badJson.valid ? undefined : badJson.reason, 'body');
});

test('bad arguments throw HeraldValidationError', async () => {
  const client = new ChannelsClient(APP);
  await assert.rejects(client.validateWebhook({ headers: {}, rawBody: { not: 'a string' } as never }), HeraldValidationError);
  await assert.rejects(client.validateWebhook({ headers: null as never, rawBody: '' }), HeraldValidationError);
  await assert.rejects(client.validateWebhook({ headers: {}, rawBody: '', additionalTokens: [{ key: 'k' }] as never }), /additionalTokens\[0\]/);
  await assert.rejects(client.validateWebhook({ headers: {}, rawBody: '', additionalTokens: Array(101).fill(EXTRA) }), /at most 100/);
});
