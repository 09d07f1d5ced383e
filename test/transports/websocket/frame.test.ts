/** RFC 6455 §5.2 headers of Herald's text frames at each length boundary, byte for byte. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Writable } from 'node:stream';
import * as ws from 'ws';
import { frameOf, framePong, frameText } from '../../../src/transports/websocket/frame.js';
import { OutboundMessage } from '../../../src/channels/transport.js';

/** ws' frame parser (exported by ws, not by its type definitions). */
const { Receiver } = ws as unknown as { Receiver: new (options: { isServer: boolean; maxPayload: number }) => Writable };

function header(frame: Buffer, length: number): number[] {
  return [...frame.subarray(0, frame.length - length)];
}

test('125 bytes: the length fits the 7-bit field (2-byte header)', () => {
  const frame = frameText('a'.repeat(125));
  assert.deepEqual(header(frame, 125), [0x81, 125]);
  assert.equal(frame.length, 2 + 125);
});

test('126 bytes: length code 126 and a 16-bit big-endian length (4-byte header)', () => {
  const frame = frameText('a'.repeat(126));
  assert.deepEqual(header(frame, 126), [0x81, 126, 0x00, 0x7e]);
});

test('65535 bytes: the largest 16-bit length', () => {
  const frame = frameText('a'.repeat(65535));
  assert.deepEqual(header(frame, 65535), [0x81, 126, 0xff, 0xff]);
});

test('65536 bytes: length code 127 and a 64-bit big-endian length (10-byte header)', () => {
  const frame = frameText('a'.repeat(65536));
  assert.deepEqual(header(frame, 65536), [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
});

test('the length counts UTF-8 bytes, not characters, and the payload is the text', () => {
  const text = 'é'.repeat(63); // 126 bytes in 63 characters: needs the 16-bit length
  const frame = frameText(text);
  assert.deepEqual(header(frame, 126), [0x81, 126, 0x00, 0x7e]);
  assert.equal(frame.subarray(4).toString('utf8'), text);
});

test("ws' own parser reads each frame back as the same text message", async () => {
  for (const length of [0, 125, 126, 65535, 65536]) {
    const text = 'x'.repeat(length);
    // A client-side receiver: server frames are unmasked, as frameText builds them.
    const receiver = new Receiver({ isServer: false, maxPayload: 0 });
    const received = new Promise<[Buffer, boolean]>((resolve) => receiver.once('message', (data: Buffer, isBinary: boolean) => resolve([data, isBinary])));
    receiver.write(frameText(text));
    const [data, isBinary] = await received;
    assert.equal(isBinary, false);
    assert.equal(data.toString(), text, `${length} bytes`);
  }
});

test('a broadcast is framed once: every recipient gets the same Buffer', () => {
  const message = new OutboundMessage('{"event":"e","channel":"c","data":"{}"}');
  const first = frameOf(message);
  assert.equal(frameOf(message), first);
  assert.deepEqual(first, frameText(message.text));
});

test('a pong echoes the ping payload in one final control frame; a longer payload is cut to 125 bytes', () => {
  assert.deepEqual([...framePong(Buffer.from('hi'))], [0x8a, 2, 0x68, 0x69]);
  assert.deepEqual([...framePong(Buffer.alloc(0))], [0x8a, 0]);
  const long = framePong(Buffer.alloc(200, 0x61));
  assert.equal(long[1], 125);
  assert.equal(long.length, 127);
});
