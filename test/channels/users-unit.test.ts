/**
 * Users without sockets (users.ts, control.ts, spec A.13): sign-in, messages to a user through
 * `#server-to-user-{id}`, terminating a user's connections, and watchlist online/offline events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, signInFrame, subscribeFrame, type FakeTransport } from './fake.js';

type Events = Array<{ name: string; user_ids: string[] }>;
const watchlistEvents = (transport: FakeTransport) => (transport.data('pusher_internal:watchlist_events') as Array<{ events: Events }>).map((d) => d.events);
const userChannel = (id: string) => `#server-to-user-${id}`;

/** A harness with `signedIn(id, watchlist?)`: a new socket signed in as `id`. */
function users(appInput: Parameters<typeof harness>[0] = {}) {
  const h = harness(appInput);
  const signedIn = (id: string, watchlist?: string[]) => {
    const socket = h.open();
    h.engine.receive(socket.conn, signInFrame(socket.conn, watchlist ? { id, watchlist } : { id }));
    return socket;
  };
  return { ...h, signedIn };
}

test('sign-in answers signin_success with the exact signed user_data; a bad signature gets 4009 and the socket stays open', () => {
  const { engine, open, signedIn } = users();
  const ann = signedIn('ann');
  assert.deepEqual((ann.transport.data('pusher:signin_success')[0] as { user_data: string }).user_data, '{"id":"ann"}');
  const forger = open();
  engine.receive(forger.conn, JSON.stringify({ event: 'pusher:signin', data: { auth: 'k:00', user_data: '{"id":"ann"}' } }));
  assert.equal((forger.transport.data('pusher:error')[0] as { code: number }).code, 4009);
  assert.equal(forger.conn.user, undefined);
  assert.equal(forger.transport.closedWith, undefined);
});

test('an event to #server-to-user-{id} reaches every socket of that user and nobody else', () => {
  const { engine, signedIn } = users();
  const [ann1, ann2, bob] = [signedIn('ann'), signedIn('ann'), signedIn('bob')];
  for (const s of [ann1, ann2]) engine.receive(s.conn, subscribeFrame(s.conn, userChannel('ann')));
  engine.receive(bob.conn, subscribeFrame(bob.conn, userChannel('bob')));
  engine.publish({ appId: '1', channels: [userChannel('ann')], event: 'note', data: 'hi' });
  for (const s of [ann1, ann2]) assert.deepEqual(s.transport.frames().at(-1), { event: 'note', channel: userChannel('ann'), data: 'hi' });
  assert.equal(bob.transport.events().includes('note'), false);
});

test('#server-to-user-{id} is refused to a socket not signed in as that user', () => {
  const { engine, open, signedIn } = users();
  const bob = signedIn('bob');
  const anonymous = open();
  for (const s of [bob, anonymous]) engine.receive(s.conn, subscribeFrame(s.conn, userChannel('ann')));
  for (const s of [bob, anonymous]) {
    const [refusal] = s.transport.frames().filter((f) => f.event === 'pusher:subscription_error') as unknown as Array<{ data: { status: number } }>;
    assert.equal(refusal?.data.status, 403);
  }
  assert.deepEqual(engine.occupiedChannels('1'), []);
});

test('terminateUser closes every socket of that user with 4009; other sockets stay', () => {
  const { engine, signedIn, open } = users();
  const [ann1, ann2, bob] = [signedIn('ann'), signedIn('ann'), signedIn('bob')];
  const anonymous = open();
  engine.terminateUser('1', 'ann');
  assert.deepEqual(ann1.transport.closedWith, [4009, 'You got disconnected by the app.']);
  assert.deepEqual(ann2.transport.closedWith, [4009, 'You got disconnected by the app.']);
  assert.equal(bob.transport.closedWith, undefined);
  assert.equal(anonymous.transport.closedWith, undefined);
});

test('watchlist: the current status of every watched id right after sign-in, online and offline groups', () => {
  const { signedIn } = users();
  signedIn('bob');
  const ann = signedIn('ann', ['bob', 'cid']);
  assert.deepEqual(watchlistEvents(ann.transport), [[{ name: 'online', user_ids: ['bob'] }, { name: 'offline', user_ids: ['cid'] }]]);
  assert.deepEqual(ann.transport.events().slice(1), ['pusher:signin_success', 'pusher_internal:watchlist_events']);
  assert.equal(ann.transport.frames().at(-1)?.channel, undefined, 'not on a channel');
});

test('watchlist: online when the first socket of a watched user signs in, offline only when its last one leaves', () => {
  const { engine, signedIn } = users();
  const ann = signedIn('ann', ['bob']);
  const bob1 = signedIn('bob');
  const bob2 = signedIn('bob');
  engine.disconnect(bob1.conn);
  assert.deepEqual(watchlistEvents(ann.transport).slice(1), [[{ name: 'online', user_ids: ['bob'] }]], 'bob2 keeps bob online');
  engine.disconnect(bob2.conn);
  assert.deepEqual(watchlistEvents(ann.transport).slice(1), [[{ name: 'online', user_ids: ['bob'] }], [{ name: 'offline', user_ids: ['bob'] }]]);
});

test('watchlist: presence membership alone is not online; signing in again as the same user does not blip', () => {
  const { engine, open, signedIn } = users();
  const ann = signedIn('ann', ['bob']);
  const member = open();
  engine.receive(member.conn, subscribeFrame(member.conn, 'presence-room', { user_id: 'bob' }));
  assert.equal(watchlistEvents(ann.transport).length, 1, 'only the snapshot');
  const bob = signedIn('bob');
  engine.receive(bob.conn, signInFrame(bob.conn, { id: 'bob', watchlist: ['ann'] }));
  assert.deepEqual(watchlistEvents(ann.transport).slice(1), [[{ name: 'online', user_ids: ['bob'] }]], 'no offline/online pair');
});

test('watchlist: ids beyond maxWatchlistSize are not watched (4302 after signin_success); watchlistEvents: false turns it off', () => {
  const limited = users({ limits: { maxWatchlistSize: 1 } } as never);
  const ann = limited.signedIn('ann', ['bob', 'cid']);
  assert.deepEqual(ann.transport.events().slice(1), ['pusher:signin_success', 'pusher:error', 'pusher_internal:watchlist_events']);
  assert.equal((ann.transport.data('pusher:error')[0] as { code: number }).code, 4302);
  limited.signedIn('cid');
  assert.deepEqual(watchlistEvents(ann.transport), [[{ name: 'offline', user_ids: ['bob'] }]], 'cid is not watched');

  const off = users({ watchlistEvents: false });
  const watcher = off.signedIn('ann', ['bob']);
  off.signedIn('bob');
  assert.deepEqual(watchlistEvents(watcher.transport), []);
});
