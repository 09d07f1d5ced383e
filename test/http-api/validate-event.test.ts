/** Event validation without a server: refusals are domain errors (`invalid`, `too_large`) with the REST API's messages. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseApp } from '../../src/apps/app.js';
import { validateEvent, type EventBody } from '../../src/http-api/publish.js';
import { DomainError, type ErrorKind } from '../../src/platform/errors.js';

const app = parseApp({ id: 'v', key: 'v-key', secret: 'v-secret', limits: { maxPayloadBytes: 16 } });

function refusal(body: EventBody, where?: string): { kind: ErrorKind; message: string } {
  try {
    validateEvent(body, app, where);
  } catch (err) {
    assert.ok(err instanceof DomainError, `expected a DomainError, got ${String(err)}`);
    return { kind: err.kind, message: err.message };
  }
  assert.fail('the event was accepted');
}

test('a valid event passes; data that is not a string is stringified', () => {
  assert.deepEqual(validateEvent({ name: 'e', data: { a: 1 }, channels: ['c'] }, app), { name: 'e', data: '{"a":1}', channels: ['c'], socketId: undefined, info: [] });
});

test('rule breaks are `invalid` with the message the REST API answers', () => {
  assert.deepEqual(refusal({ name: 'pusher:x', channels: ['c'] }), { kind: 'invalid', message: 'only Pusher can publish events with the prefix pusher: or pusher_internal:' });
  assert.deepEqual(refusal({ name: 'e', channels: [] }), { kind: 'invalid', message: 'channels must not be empty' });
  assert.deepEqual(refusal({ name: 'e', channel: 'c', info: 'colour' }, 'batch[2]: '), { kind: 'invalid', message: 'batch[2]: unknown info attribute colour' });
});

test('oversized data is `too_large`', () => {
  assert.deepEqual(refusal({ name: 'e', data: 'x'.repeat(17), channels: ['c'] }), { kind: 'too_large', message: 'event data is 17 bytes; the limit is 16' });
});

test('channels: repeated names count once, in first-seen order; the event gets its own array', () => {
  assert.deepEqual(validateEvent({ name: 'e', channels: ['b', 'a', 'b', 'a'] }, app).channels, ['b', 'a']);
  for (const body of [{ name: 'e', channels: ['c'] }, { name: 'e', channels: ['c', 'd'] }]) {
    const channels = validateEvent(body, app).channels;
    assert.deepEqual(channels, body.channels);
    assert.notEqual(channels, body.channels, 'not the request body\'s array');
  }
  assert.deepEqual(validateEvent({ name: 'e', channel: 'c' }, app).channels, ['c']);
  assert.deepEqual(validateEvent({ name: 'e', channels: ['private-encrypted-x', 'private-encrypted-x'] }, app).channels, ['private-encrypted-x']);
  assert.deepEqual(refusal({ name: 'e', channels: ['private-encrypted-x', 'c'] }), { kind: 'invalid', message: 'an event to an encrypted channel must be sent to that channel alone' });
});
