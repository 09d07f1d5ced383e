/**
 * Authorized connections without sockets (authorized-connections.ts, spec A.14): with
 * userAuthentication.required, a socket must sign in or make an authorized subscription within
 * timeoutMs, or it gets pusher:error 4009 and is closed with 4009. The basic deadline is in
 * engine-seams.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseApp, type AppInput } from '../../src/apps/app.js';
import type { MemoryAppRegistry } from '../../src/apps/registry.js';
import { NOT_AUTHORIZED_IN_TIME } from '../../src/channels/authorized-connections.js';
import { harness, SECRET, signInFrame, subscribeFrame } from './fake.js';

const required = { userAuthentication: { required: true, timeoutMs: 1000 } };

test('signing in or a presence subscription within the deadline keeps the socket; a public subscription does not', () => {
  const { engine, open, clock } = harness(required);
  const [signer, member, reader] = [open(), open(), open()];
  engine.receive(signer.conn, signInFrame(signer.conn, { id: 'ann' }));
  engine.receive(member.conn, subscribeFrame(member.conn, 'presence-room', { user_id: 'bob' }));
  engine.receive(reader.conn, subscribeFrame(reader.conn, 'news'));
  clock.advance(1000);
  assert.equal(signer.transport.closedWith, undefined);
  assert.equal(member.transport.closedWith, undefined);
  assert.deepEqual(reader.transport.closedWith, [4009, NOT_AUTHORIZED_IN_TIME]);
  assert.deepEqual(reader.transport.data('pusher:error').at(-1), { message: NOT_AUTHORIZED_IN_TIME, code: 4009 });
});

test('a refused private subscription does not authorize the socket', () => {
  const { engine, open, clock } = harness(required);
  const a = open();
  engine.receive(a.conn, JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'private-x', auth: 'k:bad' } }));
  clock.advance(1000);
  assert.deepEqual(a.transport.closedWith, [4009, NOT_AUTHORIZED_IN_TIME]);
});

test('without userAuthentication.required nothing is closed; turning it off spares sockets still waiting', () => {
  const relaxed = harness();
  const idle = relaxed.open();
  relaxed.clock.advance(60_000);
  assert.equal(idle.transport.closedWith, undefined);

  const { engine, open, clock } = harness(required);
  const waiting = open();
  (engine.apps as MemoryAppRegistry).put(parseApp({ id: '1', key: 'k', secret: SECRET, userAuthentication: { required: false } } as AppInput));
  clock.advance(1000);
  assert.equal(waiting.transport.closedWith, undefined);
});
