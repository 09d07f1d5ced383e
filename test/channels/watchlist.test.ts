/**
 * Watchlist events through pusher-js: current status right after sign-in, then online/offline as
 * watched users come and go. The exact frame, re-sign-in without a blip, presence alone, the 4302
 * limit and watchlistEvents: false are unit-tested (users-unit.test.ts), per-connection
 * watchlists in hub.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type Pusher from 'pusher';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import type { PusherJs } from '../helpers/pusher-js.js';
import { nextEvent } from '../helpers/wait.js';
import { authorizedClient, signedIn, subscribed } from './authorized-clients.js';

let h: TestHerald;
let server: Pusher;

before(async () => {
  h = await startTestHerald();
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

