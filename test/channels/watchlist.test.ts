/** Watchlist events: current status right after sign-in, then online/offline as watched users come and go. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type Pusher from 'pusher';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import type { PusherJs } from '../helpers/pusher-js.js';
import { RawClient, type Frame } from '../helpers/raw-client.js';
import { eventually, nextEvent } from '../helpers/wait.js';
import { authorizedClient, signedIn, subscribed } from './authorized-clients.js';

const quiet = { id: 'quiet-app', key: 'quiet-key', secret: 'quiet-secret', watchlistEvents: false };
let h: TestHerald;
let server: Pusher;

before(async () => {
  h = await startTestHerald({ apps: [quiet] });
  server = h.pusherServer();
});
after(() => h.stop());

type WatchlistEvent = { name: string; user_ids: string[] };

function watchlistEvents(client: PusherJs): WatchlistEvent[] {
  const seen: WatchlistEvent[] = [];
  client.user.watchlist.bind('online', (e: WatchlistEvent) => seen.push(e));
  client.user.watchlist.bind('offline', (e: WatchlistEvent) => seen.push(e));
  return seen;
}

function nextWatchlist(client: PusherJs, name: 'online' | 'offline') {
  return nextEvent<WatchlistEvent>(client.user.watchlist, name);
}

async function rawSignIn(raw: RawClient, user: object, pusher: Pusher = server): Promise<Frame> {
  raw.send({ event: 'pusher:signin', data: pusher.authenticateUser(raw.socketId, user as Pusher.UserChannelData) });
  return raw.waitEvent('pusher:signin_success');
}

/** A round trip: every frame the server sent before the pong has arrived. */
async function settle(raw: RawClient): Promise<void> {
  raw.send({ event: 'pusher:ping', data: {} });
  await raw.waitEvent('pusher:pong');
}

test('right after sign-in the watcher gets the current status of its whole watchlist', async () => {
  const present = authorizedClient(h, server, { user: { id: 'wl-present' } });
  await signedIn(present);
  const watcher = authorizedClient(h, server, { user: { id: 'wl-watcher-1', watchlist: ['wl-present', 'wl-absent-a', 'wl-absent-b'] } });
  const online = nextWatchlist(watcher, 'online');
  const offline = nextWatchlist(watcher, 'offline');
  await signedIn(watcher);
  assert.deepEqual(await online, { name: 'online', user_ids: ['wl-present'] });
  assert.deepEqual(await offline, { name: 'offline', user_ids: ['wl-absent-a', 'wl-absent-b'] });
  present.disconnect();
  watcher.disconnect();
});

test('exact frame: one pusher_internal:watchlist_events with online and offline groups', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  await rawSignIn(raw, { id: 'wl-raw', watchlist: ['nobody-1', 'nobody-2'] });
  const frame = await raw.waitEvent('pusher_internal:watchlist_events');
  assert.equal(frame.channel, undefined);
  assert.deepEqual(frame.data, { events: [{ name: 'offline', user_ids: ['nobody-1', 'nobody-2'] }] });
  raw.close();
});

test('online when the first connection signs in, offline only when the last one leaves', async () => {
  const watcher = authorizedClient(h, server, { user: { id: 'wl-watcher-2', watchlist: ['wl-multi'] } });
  const initial = nextWatchlist(watcher, 'offline');
  await signedIn(watcher);
  await initial;
  const seen = watchlistEvents(watcher);

  const cameOnline = nextWatchlist(watcher, 'online');
  const tab1 = authorizedClient(h, server, { user: { id: 'wl-multi' } });
  await signedIn(tab1);
  assert.deepEqual(await cameOnline, { name: 'online', user_ids: ['wl-multi'] });

  const tab2 = authorizedClient(h, server, { user: { id: 'wl-multi' } });
  await signedIn(tab2);
  tab1.disconnect();
  // The watcher hears nothing while one tab is still signed in; a marker event proves the quiet period.
  const marker = nextEvent(await subscribed(watcher, 'wl-marker'), 'marker');
  await server.trigger('wl-marker', 'marker', {});
  await marker;
  assert.deepEqual(seen.map((e) => e.name), ['online']);

  const wentOffline = nextWatchlist(watcher, 'offline');
  tab2.disconnect();
  assert.deepEqual(await wentOffline, { name: 'offline', user_ids: ['wl-multi'] });
  watcher.disconnect();
});

test('presence membership alone does not make a user online', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  await rawSignIn(raw, { id: 'wl-watcher-3', watchlist: ['wl-presence-only'] });
  await raw.waitEvent('pusher_internal:watchlist_events');
  const member = authorizedClient(h, server, { presence: { user_id: 'wl-presence-only' } });
  await subscribed(member, 'presence-room');
  await settle(raw);
  assert.equal(raw.frames.filter((f) => f.event === 'pusher_internal:watchlist_events').length, 0);
  member.disconnect();
  raw.close();
});

test('signing in again as the same user does not blip offline/online to watchers', async () => {
  const watcher = await RawClient.established(h.wsUrl, h.app.key);
  await rawSignIn(watcher, { id: 'wl-watcher-4', watchlist: ['wl-resign'] });
  await watcher.waitEvent('pusher_internal:watchlist_events');
  const subject = await RawClient.established(h.wsUrl, h.app.key);
  await rawSignIn(subject, { id: 'wl-resign' });
  const online = await watcher.waitEvent('pusher_internal:watchlist_events');
  assert.deepEqual(online.data.events, [{ name: 'online', user_ids: ['wl-resign'] }]);
  await rawSignIn(subject, { id: 'wl-resign', watchlist: ['x'] });
  await settle(subject);
  await settle(watcher);
  assert.equal(watcher.frames.filter((f) => f.event === 'pusher_internal:watchlist_events').length, 0);
  subject.close();
  const offline = await watcher.waitEvent('pusher_internal:watchlist_events');
  assert.deepEqual(offline.data.events, [{ name: 'offline', user_ids: ['wl-resign'] }]);
  watcher.close();
});

test('a watchlist over the limit: first 100 ids honoured, signin_success then pusher:error 4302', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  const ids = Array.from({ length: 101 }, (_, i) => `big-${i}`);
  await rawSignIn(raw, { id: 'wl-big', watchlist: ids });
  const error = await raw.waitEvent('pusher:error');
  assert.equal(error.data.code, 4302);
  assert.match(error.data.message, /Watchlist limit exceeded/);
  const status = await raw.waitEvent('pusher_internal:watchlist_events');
  assert.deepEqual(status.data.events, [{ name: 'offline', user_ids: ids.slice(0, 100) }]);
  assert.equal(raw.closeCode, undefined);
  raw.close();
});

test('watchlistEvents: false turns the feature off for that app', async () => {
  const quietServer = h.pusherServer({ appId: quiet.id, key: quiet.key, secret: quiet.secret });
  const watcher = await RawClient.established(h.wsUrl, quiet.key);
  await rawSignIn(watcher, { id: 'q-watcher', watchlist: ['q-friend'] }, quietServer);
  const friend = await RawClient.established(h.wsUrl, quiet.key);
  await rawSignIn(friend, { id: 'q-friend' }, quietServer);
  friend.close();
  await friend.closed;
  await settle(watcher);
  assert.equal(watcher.frames.filter((f) => f.event === 'pusher_internal:watchlist_events').length, 0);
  watcher.close();
});

test('connections of one user with different watchlists: each id is watched until no connection lists it', async () => {
  const wide = await RawClient.established(h.wsUrl, h.app.key);
  await rawSignIn(wide, { id: 'wl-two-lists', watchlist: ['wl-a', 'wl-b'] });
  const narrow = await RawClient.established(h.wsUrl, h.app.key);
  await rawSignIn(narrow, { id: 'wl-two-lists', watchlist: ['wl-a'] });
  const state = h.herald.engine.state(h.app.id)!;
  wide.close();
  await eventually(() => state.users.get('wl-two-lists')?.size === 1, 5000, 'the wide connection to leave');
  assert.ok(state.watchers.get('wl-a')?.has('wl-two-lists'), 'still watched by the narrow connection');
  assert.equal(state.watchers.get('wl-b')?.has('wl-two-lists') ?? false, false, 'no connection watches wl-b any more');
  narrow.close();
  await eventually(() => !state.users.has('wl-two-lists'), 5000, 'the user to go offline');
  assert.equal(state.watchers.get('wl-a')?.has('wl-two-lists') ?? false, false);
});
