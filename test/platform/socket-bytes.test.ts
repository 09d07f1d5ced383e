/** The socket byte ledger: tracked sockets, sockets an owner adopted, and what a close folds in (no sockets). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import { SocketBytes, type CountedSocket } from '../../src/platform/socket-bytes.js';

class FakeSocket extends EventEmitter {
  constructor(
    public bytesRead: number,
    public bytesWritten: number,
  ) {
    super();
  }
}

function ledgerWithServer() {
  const server = new EventEmitter();
  const ledger = new SocketBytes();
  ledger.track(server as unknown as Server);
  const accept = (read: number, written: number) => {
    const socket = new FakeSocket(read, written);
    server.emit('connection', socket);
    return socket;
  };
  return { ledger, accept };
}

test('open sockets are summed on read, and a closed one keeps its totals once', () => {
  const { ledger, accept } = ledgerWithServer();
  const a = accept(10, 100);
  const b = accept(1, 2);
  assert.deepEqual(ledger.totals(), { read: 11, written: 102 });
  a.bytesRead = 20;
  assert.deepEqual(ledger.totals(), { read: 21, written: 102 }, 'read live, not at accept');
  a.emit('close');
  a.bytesRead = 999; // a closed socket is no longer read
  assert.deepEqual(ledger.totals(), { read: 21, written: 102 });
  b.emit('close');
  assert.deepEqual(ledger.totals(), { read: 21, written: 102 });
});

test('an adopted socket loses the ledger\'s listener and is counted through its owner, then at its close', () => {
  const { ledger, accept } = ledgerWithServer();
  const owned = new Set<CountedSocket>();
  ledger.addOwner((visit) => owned.forEach(visit));
  const socket = accept(5, 50);
  assert.equal(socket.listenerCount('close'), 1);
  assert.equal(ledger.adopt(socket), true);
  assert.equal(socket.listenerCount('close'), 0, 'no per-socket listener left');
  owned.add(socket);
  socket.bytesWritten = 70;
  assert.deepEqual(ledger.totals(), { read: 5, written: 70 }, 'through the owner');
  // The owner sees the close: it forgets the socket and folds its totals, once.
  socket.emit('close');
  owned.delete(socket);
  ledger.closed(socket);
  assert.deepEqual(ledger.totals(), { read: 5, written: 70 });
});

test('adopting a socket the ledger does not track (a TLS socket over a tracked TCP one) changes nothing', () => {
  const { ledger, accept } = ledgerWithServer();
  accept(3, 4);
  assert.equal(ledger.adopt(new FakeSocket(1000, 1000)), false);
  assert.deepEqual(ledger.totals(), { read: 3, written: 4 });
});
