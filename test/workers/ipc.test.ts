/** Request/response and notices between a primary and a worker, over a structured-clone channel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { IpcPeer, type IpcEndpoint } from '../../src/platform/ipc.js';
import { DomainError, invalid } from '../../src/platform/errors.js';

/** Two endpoints wired like a node:cluster channel with serialization 'advanced'. */
function channel(): [IpcEndpoint & EventEmitter, IpcEndpoint & EventEmitter] {
  const a = new EventEmitter() as IpcEndpoint & EventEmitter;
  const b = new EventEmitter() as IpcEndpoint & EventEmitter;
  a.send = (m) => (setImmediate(() => b.emit('message', structuredClone(m))), true);
  b.send = (m) => (setImmediate(() => a.emit('message', structuredClone(m))), true);
  return [a, b];
}

test('a request is answered with the handler value, Dates and Buffers intact', async () => {
  const [a, b] = channel();
  const primary = new IpcPeer(a);
  const worker = new IpcPeer(b);
  primary.handle('rows', (args) => [{ at: new Date(0), bytes: Buffer.from('hi'), args }]);
  const rows = await worker.request<Array<{ at: Date; bytes: Uint8Array; args: unknown }>>('rows', { n: 1 });
  assert.ok(rows[0]!.at instanceof Date);
  assert.equal(Buffer.from(rows[0]!.bytes).toString(), 'hi');
  assert.deepEqual(rows[0]!.args, { n: 1 });
});

test('a failing handler rejects the request with its message and code; a DomainError keeps its kind', async () => {
  const [a, b] = channel();
  const primary = new IpcPeer(a);
  const worker = new IpcPeer(b);
  primary.handle('sync', () => {
    throw Object.assign(new Error('duplicate key'), { code: '23505' });
  });
  primary.handle('async', async () => {
    throw invalid('bad', { code: 'invalid_text' });
  });
  await assert.rejects(worker.request('sync'), { message: 'duplicate key', code: '23505' });
  await assert.rejects(worker.request('async'), (err: unknown) => err instanceof DomainError && err.kind === 'invalid' && err.message === 'bad' && err.code === 'invalid_text');
  await assert.rejects(worker.request('nope'), /unknown IPC request nope/);
});

test('notices reach the handler; messages that are not ours are ignored', async () => {
  const [a, b] = channel();
  const primary = new IpcPeer(a);
  const worker = new IpcPeer(b);
  const got: unknown[] = [];
  primary.handle('bus', (m) => got.push(m));
  b.send({ cmd: 'NODE_CLUSTER', ack: 1 }); // node:cluster's own traffic on the same channel
  worker.notify('bus', { n: 1 });
  await new Promise((r) => setImmediate(() => setImmediate(r)));
  assert.deepEqual(got, [{ n: 1 }]);
});

test('closing fails pending and later requests', async () => {
  const [a, b] = channel();
  new IpcPeer(a).handle('slow', () => new Promise(() => undefined));
  const worker = new IpcPeer(b);
  const pending = worker.request('slow');
  worker.close('primary exited');
  await assert.rejects(pending, { code: 'WORKER_IPC_CLOSED' });
  await assert.rejects(worker.request('slow'), { code: 'WORKER_IPC_CLOSED' });
});

test('a request with a timeout fails when no answer comes in time', async () => {
  const [a, b] = channel();
  new IpcPeer(a).handle('stuck', () => new Promise(() => undefined));
  const worker = new IpcPeer(b);
  const alive = setInterval(() => undefined, 1000); // the timeout timer is unref'd (a server's loop is alive anyway)
  await assert.rejects(worker.request('stuck', undefined, 20), { code: 'WORKER_IPC_TIMEOUT' });
  clearInterval(alive);
  assert.equal(worker.size, 0, 'nothing left waiting');
});
