/** Every 429 carries Retry-After (the rate limits are per second); the HTTP API's also names its limit. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import Pusher from 'pusher';
import { sendJson } from '../../src/platform/http-context.js';
import { startTestHerald } from '../helpers/herald.js';

test('sendJson adds Retry-After: 1 to any 429 that has none, and keeps one that was set', async (t) => {
  const server = createServer((req, res) => {
    if (req.url === '/preset') res.setHeader('Retry-After', '7');
    sendJson(res, req.url === '/ok' ? 200 : 429, { error: 'x' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  assert.equal((await fetch(`${base}/limited`)).headers.get('retry-after'), '1');
  assert.equal((await fetch(`${base}/preset`)).headers.get('retry-after'), '7');
  assert.equal((await fetch(`${base}/ok`)).headers.get('retry-after'), null);
});

test('HTTP API 429: Retry-After and X-RateLimit-Limit / -Remaining', async (t) => {
  const herald = await startTestHerald({ app: { limits: { apiRequestsPerSecond: 1 } } as never });
  t.after(() => herald.stop());
  const sdk = new Pusher({ ...herald.app, appId: herald.app.id, host: '127.0.0.1', port: new URL(herald.httpUrl).port, useTLS: false });
  // One burst of signed requests (the pusher SDK drops response headers from its errors, so raw fetch):
  // a bucket of 1 per second lets at most a few through, however slow the machine.
  const responses = await Promise.all(Array.from({ length: 8 }, () => fetch(`${herald.httpUrl}${signedPath(sdk)}`)));
  const limited = responses.filter((r) => r.status === 429);
  assert.ok(limited.length >= 4, `${limited.length} of 8 refused`);
  for (const res of limited) {
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(res.headers.get('x-ratelimit-limit'), '1');
    assert.equal(res.headers.get('x-ratelimit-remaining'), '0');
    assert.match(((await res.json()) as { error: string }).error, /Too many requests/);
  }
});

/** A signed GET /apps/{id}/channels, as the pusher SDK would send it. */
function signedPath(sdk: Pusher): string {
  const token = (sdk as unknown as { config: { token: { key: string; secret: string }; appId: string } }).config;
  const params = new URLSearchParams({ auth_key: token.token.key, auth_timestamp: String(Math.floor(Date.now() / 1000)), auth_version: '1.0' });
  const path = `/apps/${token.appId}/channels`;
  const sorted = [...params.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join('&');
  const signature = createHmac('sha256', token.token.secret).update(`GET\n${path}\n${sorted}`).digest('hex');
  return `${path}?${sorted}&auth_signature=${signature}`;
}
