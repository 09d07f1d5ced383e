/**
 * WebSockets through deploy/nginx-herald.conf. nginx closes a proxied WebSocket that carries
 * nothing for `proxy_read_timeout`, and an idle, healthy pusher-js connection carries nothing
 * until a ping after activity_timeout (120 s): the file's timeout must be longer, or every idle
 * client is cut and reconnects (new socket id, presence leave/join, webhooks) over and over.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { findNginx, NGINX_CONF, startNginx, type RunningNginx } from '../helpers/nginx.js';
import { PusherJs } from '../helpers/pusher-js.js';
import { nextEvent } from '../helpers/wait.js';
import { configSchema } from '../../src/config/schema.js';

/** The file's proxy_read_timeout in seconds (nginx's default unit). */
function readTimeoutSeconds(): number {
  const match = /proxy_read_timeout\s+(\d+)s?;/.exec(readFileSync(NGINX_CONF, 'utf8'));
  assert.ok(match, `${NGINX_CONF} sets proxy_read_timeout`);
  return Number(match[1]);
}

test(`${NGINX_CONF}: proxy_read_timeout outlasts Herald's default activity_timeout plus its ping sweep`, () => {
  const defaults = configSchema.parse({});
  // Herald pings an idle client at most 5 s (its sweep interval) after activity_timeout.
  assert.ok(readTimeoutSeconds() > defaults.activityTimeout + 5, `${readTimeoutSeconds()} s`);
});

/**
 * The same through a running nginx, 30 times faster: Herald's default activity timeout (120 s)
 * and pong timeout (30 s) become 4 s and 1 s, the file's proxy_read_timeout is divided by 30.
 */
const SPEED_UP = 30;
const nginxBinary = findNginx();
let h: TestHerald | undefined;
let nginx: RunningNginx | undefined;
/** docs/migrating.md: a proxy kept from Reverb (nginx's default 60 s) and HERALD_ACTIVITY_TIMEOUT=30. */
let reverbLike: TestHerald | undefined;
let defaultNginx: RunningNginx | undefined;

before(async () => {
  if (!nginxBinary) return;
  const defaults = configSchema.parse({});
  h = await startTestHerald({ config: { activityTimeout: defaults.activityTimeout / SPEED_UP, pongTimeout: defaults.pongTimeout / SPEED_UP } });
  const scaledMs = Math.round((readTimeoutSeconds() * 1000) / SPEED_UP);
  nginx = await startNginx(nginxBinary, [h.port], (conf) => conf.replace(/proxy_read_timeout\s+\d+s?;/, `proxy_read_timeout ${scaledMs}ms;`));
  reverbLike = await startTestHerald({ config: { activityTimeout: 30 / SPEED_UP, pongTimeout: defaults.pongTimeout / SPEED_UP } });
  // nginx's default proxy_read_timeout, 60 s, scaled like the rest.
  defaultNginx = await startNginx(nginxBinary, [reverbLike.port], (conf) => conf.replace(/proxy_read_timeout\s+\d+s?;/, `proxy_read_timeout ${60_000 / SPEED_UP}ms;`));
});
after(async () => {
  nginx?.stop();
  defaultNginx?.stop();
  await h?.stop();
  await reverbLike?.stop();
});

/** Opens a client through `port`, keeps it idle for `ms`, and returns its state changes and whether its socket id changed. */
async function idleThrough(herald: TestHerald, port: number, ms: number): Promise<{ states: string[]; sameSocket: boolean }> {
  const client = new PusherJs(herald.app.key, { cluster: 'local', wsHost: '127.0.0.1', wsPort: port, forceTLS: false, enabledTransports: ['ws'] });
  try {
    await nextEvent(client.connection, 'connected');
    const socketId = client.connection.socket_id;
    const states: string[] = [];
    client.connection.bind('state_change', (s: { current: string }) => states.push(s.current));
    await new Promise((resolve) => setTimeout(resolve, ms));
    return { states: [...states], sameSocket: client.connection.socket_id === socketId };
  } finally {
    client.disconnect();
  }
}

test('an idle pusher-js WebSocket through the nginx file stays connected across Herald\'s pings (time scaled by 30)', async (t) => {
  if (!h || !nginx) return t.skip('no nginx binary (set HERALD_NGINX or install nginx)');
  // Two and a half activity timeouts of silence (the real-time equivalent of five minutes).
  const idle = await idleThrough(h, nginx.port, h.herald.engine.activityTimeout * 2500);
  assert.deepEqual(idle, { states: [], sameSocket: true });
});

test('behind nginx\'s default 60 s timeout (a proxy kept from Reverb), HERALD_ACTIVITY_TIMEOUT=30 keeps idle clients (time scaled by 30)', async (t) => {
  if (!reverbLike || !defaultNginx) return t.skip('no nginx binary (set HERALD_NGINX or install nginx)');
  const idle = await idleThrough(reverbLike, defaultNginx.port, 5000);
  assert.deepEqual(idle, { states: [], sameSocket: true });
});
