import { test } from 'node:test';
import assert from 'node:assert/strict';
import { channelNameError, channelType, isValidSocketId } from '../../src/protocol/names.js';
import { encodeEvent, encodeError, parseInboundFrame } from '../../src/protocol/messages.js';
import { JSON_DEPTH_MESSAGE, MAX_JSON_DEPTH } from '../../src/protocol/json-depth.js';

test('channel types, including cache and user channels', () => {
  assert.deepEqual(channelType('my-channel'), { kind: 'public', cache: false });
  assert.deepEqual(channelType('cache-x'), { kind: 'public', cache: true });
  assert.deepEqual(channelType('private-x'), { kind: 'private', cache: false });
  assert.deepEqual(channelType('private-cache-x'), { kind: 'private', cache: true });
  assert.deepEqual(channelType('presence-cache-x'), { kind: 'presence', cache: true });
  assert.deepEqual(channelType('private-encrypted-x'), { kind: 'encrypted', cache: false });
  assert.deepEqual(channelType('private-encrypted-cache-x'), { kind: 'encrypted', cache: true });
  assert.deepEqual(channelType('#server-to-user-u1'), { kind: 'user', cache: false });
});

test('channel name rules', () => {
  assert.equal(channelNameError('a-b_c=d@e,f.g;h', 200), undefined);
  assert.match(channelNameError('has space', 200)!, /only/);
  assert.match(channelNameError('x'.repeat(201), 200)!, /too long/);
  assert.match(channelNameError('', 200)!, /non-empty/);
  assert.match(channelNameError(5, 200)!, /non-empty string/);
  assert.match(channelNameError('#server-to-user-u1', 200)!, /reserved/);
  assert.equal(channelNameError('#server-to-user-u1', 200, true), undefined);
});

test('socket ids', () => {
  assert.equal(isValidSocketId('123.456'), true);
  for (const bad of ['123', '1.2.3', 'a.b', '', 5, '1.2 ']) assert.equal(isValidSocketId(bad), false);
});

test('server frames double-encode data; errors keep an object', () => {
  assert.equal(encodeEvent('e', 'c', '{"a":1}'), '{"event":"e","channel":"c","data":"{\\"a\\":1}"}');
  assert.equal(encodeEvent('client-x', 'presence-c', 'd', 'u1'), '{"event":"client-x","channel":"presence-c","data":"d","user_id":"u1"}');
  assert.deepEqual(JSON.parse(encodeError('bad', 4301, 'c')), { event: 'pusher:error', data: { code: 4301, message: 'bad' }, channel: 'c' });
});

test('inbound frames: objects, double-encoded data, and every kind of junk', () => {
  assert.deepEqual(parseInboundFrame('{"event":"pusher:subscribe","data":{"channel":"a"}}'), { ok: true, frame: { event: 'pusher:subscribe', channel: undefined, data: { channel: 'a' } } });
  assert.deepEqual(parseInboundFrame('{"event":"pusher:subscribe","data":"{\\"channel\\":\\"a\\"}"}'), { ok: true, frame: { event: 'pusher:subscribe', channel: undefined, data: { channel: 'a' } } });
  for (const junk of ['', 'nope', '[]', 'null', '42', '{"event":5}', '{"data":{}}', '{"event":"x","channel":5}']) {
    assert.equal(parseInboundFrame(junk).ok, false, junk);
  }
});

test('inbound frames nested deeper than the JSON depth limit are refused as invalid, not handled', () => {
  // Handlers re-serialize client data (client events, auth texts): 7000 levels overflow the stack
  // there, which answered "Internal error" and logged an error per frame any client could send.
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const refused = parseInboundFrame(`{"event":"client-x","channel":"private-a","data":${deep(7000)}}`);
  assert.deepEqual(refused, { ok: false, error: JSON_DEPTH_MESSAGE });
  const doubleEncoded = JSON.stringify({ event: 'pusher:subscribe', data: `{"channel":"private-a","auth":${deep(7000)}}` });
  assert.deepEqual(parseInboundFrame(doubleEncoded), { ok: false, error: JSON_DEPTH_MESSAGE });
  assert.equal(parseInboundFrame(`{"event":"client-x","channel":"private-a","data":${deep(MAX_JSON_DEPTH - 1)}}`).ok, true, 'the limit itself is fine');
});
