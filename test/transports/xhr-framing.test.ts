/** The xhr transports' frame encoding and send-body parsing (pure, no sockets). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeFrame, messagesFrame, parseSendBody, validSessionSegments, xhrSessionKey } from '../../src/transports/xhr/framing.js';

test('frames are one line each, with messages JSON-escaped so a newline inside never splits a frame', () => {
  assert.equal(messagesFrame(['{"event":"a"}', 'line\nbreak']), 'a["{\\"event\\":\\"a\\"}","line\\nbreak"]\n');
  assert.equal(closeFrame(4009, 'Unauthorized "x"'), 'c[4009,"Unauthorized \\"x\\""]\n');
  assert.deepEqual(JSON.parse(messagesFrame(['x']).slice(1)), ['x']);
});

test('send bodies must be a JSON array of strings; [] is a heartbeat', () => {
  assert.deepEqual(parseSendBody('[]'), { ok: true, messages: [] });
  assert.deepEqual(parseSendBody('["{\\"event\\":\\"pusher:ping\\"}"]'), { ok: true, messages: ['{"event":"pusher:ping"}'] });
  for (const bad of ['', 'nope', '{}', '"x"', '[1]', '["a", {}]', 'null']) {
    assert.equal(parseSendBody(bad).ok, false, bad);
  }
});

test('session path segments: what pusher-js generates is valid; dots, slashes and long ids are not', () => {
  assert.equal(validSessionSegments('123', 'a1b2c3v4'), true);
  for (const [server, session] of [['1.2', 'abc'], ['1', 'a/b'], ['', 'abc'], ['1', 'x'.repeat(33)], ['1', '..']]) {
    assert.equal(validSessionSegments(server!, session!), false, `${server}/${session}`);
  }
});

test('xhrSessionKey: the same key for every request of one session, none for other paths', () => {
  for (const kind of ['xhr_streaming', 'xhr', 'xhr_send']) {
    assert.equal(xhrSessionKey(`/pusher/app/k1/123/abcdefgh/${kind}?protocol=7&t=1`), 'k1/123/abcdefgh');
  }
  assert.equal(xhrSessionKey('/app/k1'), undefined);
  assert.equal(xhrSessionKey('/apps/1/events'), undefined);
  assert.equal(xhrSessionKey('/pusher/app/k1/1.2/abc/xhr'), undefined);
});
