/**
 * The WebSocket handshake as a pure function (src/transports/websocket/handshake.ts): request line
 * and Origin in, the engine's connect request or the Pusher close code of spec A.1 out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseApp, type App, type AppInput } from '../../../src/apps/app.js';
import { parseHandshake, type Handshake } from '../../../src/transports/websocket/handshake.js';

const apps = new Map<string, App>(
  [
    { id: '1', key: 'key', secret: 'secret-123' },
    { id: '2', key: 'off', secret: 'secret-123', enabled: false },
    { id: '3', key: 'site', secret: 'secret-123', allowedOrigins: ['https://app.example.com'] },
  ].map((input) => {
    const app = parseApp(input as AppInput);
    return [app.key, app];
  }),
);
const byKey = (key: string) => apps.get(key);

function handshake(url: string, options: { wsPath?: string; origin?: string } = {}): Handshake {
  return parseHandshake({ url, origin: options.origin }, options.wsPath ?? '', byKey);
}

function refusal(result: Handshake): [number, string, string | undefined] {
  assert.equal(result.ok, false, 'refused');
  if (result.ok) throw new Error('unreachable');
  return [result.code, result.reason, result.appKey];
}

test("pusher-js's handshake: the app key and the query become the connect request", () => {
  const result = handshake('/app/key?protocol=7&client=js&version=8.6.0&flash=false');
  assert.deepEqual(result, { ok: true, request: { appKey: 'key', protocol: '7', version: '8.6.0', client: 'js' } });
});

test('a configured wsPath prefixes /app/{key}; a trailing slash and an encoded key are accepted', () => {
  assert.equal(handshake('/ws/app/key?protocol=7', { wsPath: '/ws' }).ok, true);
  assert.equal(handshake('/app/key/?protocol=7').ok, true);
  const encoded = handshake('/app/k%65y?protocol=7');
  assert.ok(encoded.ok);
  assert.equal(encoded.request.appKey, 'key');
});

test('4005 for a path that is not {wsPath}/app/{key}', () => {
  for (const url of ['/', '/app', '/app/', '/app/key/extra?protocol=7', '/apps/key?protocol=7', '/other/app/key?protocol=7']) {
    assert.deepEqual(refusal(handshake(url)), [4005, 'Path not found', undefined], url);
  }
  assert.deepEqual(refusal(handshake('/app/key?protocol=7', { wsPath: '/ws' })), [4005, 'Path not found', undefined], 'prefix missing');
});

test('4001 for an unknown key, 4003 for a disabled app', () => {
  assert.deepEqual(refusal(handshake('/app/nope?protocol=7')), [4001, 'App key nope not in this cluster', 'nope']);
  assert.deepEqual(refusal(handshake('/app/off?protocol=7')), [4003, 'Application disabled', 'off']);
});

test('4008 without a protocol, 4007 for an unsupported one, 4006 for a malformed version', () => {
  assert.deepEqual(refusal(handshake('/app/key')), [4008, 'No protocol version supplied', 'key']);
  assert.deepEqual(refusal(handshake('/app/key?protocol=')), [4008, 'No protocol version supplied', 'key']);
  for (const protocol of ['3', '8', '70', 'seven', '7.0', '-7']) {
    assert.deepEqual(refusal(handshake(`/app/key?protocol=${protocol}`)), [4007, `Unsupported protocol version ${protocol}`, 'key'], protocol);
  }
  for (const protocol of ['4', '5', '6', '7']) assert.equal(handshake(`/app/key?protocol=${protocol}`).ok, true, protocol);
  assert.deepEqual(refusal(handshake('/app/key?protocol=7&version=8.6.0<script>')), [4006, 'Invalid version string format', 'key']);
  assert.deepEqual(refusal(handshake(`/app/key?protocol=7&version=${'1'.repeat(33)}`)), [4006, 'Invalid version string format', 'key']);
});

test('the first value of a repeated parameter counts; a malformed query counts as none, and 4008 says why', () => {
  assert.equal(refusal(handshake('/app/key?protocol=3&protocol=7'))[0], 4007);
  assert.deepEqual(
    refusal(handshake('/app/key?protocol=7&x=%E0%A4%A')),
    [4008, 'No protocol version read: Malformed percent-encoding in the query string', 'key'],
    'undecodable query',
  );
  const crowded = `/app/key?protocol=7&${Array.from({ length: 100 }, (_, i) => `p${i}=1`).join('&')}`;
  assert.deepEqual(refusal(handshake(crowded)), [4008, 'No protocol version read: Too many query parameters (limit 100)', 'key'], '101 parameters');
  assert.equal(handshake(`/app/key?protocol=7&${Array.from({ length: 99 }, (_, i) => `p${i}=1`).join('&')}`).ok, true, '100 parameters');
  assert.equal(refusal(handshake('/app/nope?protocol=7&x=%E0%A4%A'))[0], 4001, 'an unknown key is still reported first');
});

test("4009 for an Origin the app does not list; other apps and clients without Origin are let through", () => {
  assert.deepEqual(refusal(handshake('/app/site?protocol=7', { origin: 'https://evil.example' })), [4009, 'Origin not allowed', 'site']);
  assert.equal(handshake('/app/site?protocol=7', { origin: 'https://app.example.com' }).ok, true);
  assert.equal(handshake('/app/site?protocol=7').ok, true, 'no Origin: not a browser page');
  assert.equal(handshake('/app/key?protocol=7', { origin: 'https://evil.example' }).ok, true, 'an app without a list');
});

test('refusals come in the spec order: path, origin, key, protocol, version', () => {
  assert.equal(refusal(handshake('/nowhere?protocol=3'))[0], 4005);
  assert.equal(refusal(handshake('/app/site?protocol=3', { origin: 'https://evil.example' }))[0], 4009);
  assert.equal(refusal(handshake('/app/nope?protocol=3'))[0], 4001);
  assert.equal(refusal(handshake('/app/key?protocol=3&version=<>'))[0], 4007);
});
