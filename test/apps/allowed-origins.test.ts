/**
 * Allowed origins: the matching rules (pure), the schema's validation, and the WebSocket
 * handshake refusing a browser Origin the app does not list with 4009 while others connect.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { appSchema, parseApp } from '../../src/apps/app.js';
import { invalidOriginEntry, originAllowed, originRefusal } from '../../src/apps/origins.js';
import { MemoryAppRegistry } from '../../src/apps/registry.js';
import { startTestHerald } from '../helpers/herald.js';
import { RawClient } from '../helpers/raw-client.js';

test('an empty list or * allows every origin; no Origin header is always allowed', () => {
  assert.equal(originAllowed([], 'https://evil.example'), true);
  assert.equal(originAllowed(['*'], 'https://evil.example'), true);
  assert.equal(originAllowed(['https://app.example.com'], undefined), true);
});

test('full origins match scheme, host and port; default ports are optional', () => {
  const list = ['https://app.example.com', 'http://localhost:3000'];
  assert.equal(originAllowed(list, 'https://app.example.com'), true);
  assert.equal(originAllowed(list, 'https://APP.example.com:443'), true);
  assert.equal(originAllowed(list, 'http://app.example.com'), false, 'scheme differs');
  assert.equal(originAllowed(list, 'https://app.example.com:8443'), false, 'port differs');
  assert.equal(originAllowed(list, 'http://localhost:3000'), true);
  assert.equal(originAllowed(list, 'http://localhost:3001'), false);
  assert.equal(originAllowed(list, 'https://app.example.com.evil.net'), false);
});

test('host entries match any scheme and port; *.domain matches subdomains only', () => {
  const list = ['app.example.com', '*.example.org'];
  assert.equal(originAllowed(list, 'http://app.example.com:8080'), true);
  assert.equal(originAllowed(list, 'https://a.b.example.org'), true);
  assert.equal(originAllowed(list, 'https://example.org'), false);
  assert.equal(originAllowed(list, 'https://badexample.org'), false);
  assert.equal(originAllowed(list, 'https://example.com'), false);
});

test('the opaque origin "null" and garbage are refused unless null is listed', () => {
  assert.equal(originAllowed(['app.example.com'], 'null'), false);
  assert.equal(originAllowed(['app.example.com', 'null'], 'null'), true);
  assert.equal(originAllowed(['app.example.com'], 'not a url'), false);
  assert.equal(originAllowed(['app.example.com'], ''), false);
});

test('entries are validated by the app schema with a message naming the entry', () => {
  for (const ok of ['*', 'null', 'https://app.example.com', 'http://localhost:3000', 'app.example.com', '*.example.com', 'https://app.example.com/']) {
    assert.equal(invalidOriginEntry(ok), undefined, ok);
  }
  for (const bad of ['', 'https://', 'ftp//x', 'https://app.example.com/path', '*.', 'exa mple.com', '<script>', 'a'.repeat(400)]) {
    assert.ok(invalidOriginEntry(bad), bad);
  }
  const parsed = appSchema.safeParse({ id: 'a', key: 'k', secret: 'secret-123', allowedOrigins: ['https://ok.example', 'bad origin'] });
  assert.equal(parsed.success, false);
  assert.match(parsed.error!.issues[0]!.message, /"bad origin" must be/);
  assert.deepEqual(appSchema.parse({ id: 'a', key: 'k', secret: 'secret-123' }).allowedOrigins, []);
});

test('originRefusal answers 4009 for a listed app and leaves unknown keys to the handshake', () => {
  const app = { allowedOrigins: ['https://ok.example'] };
  assert.deepEqual(originRefusal(app, 'https://evil.example'), { code: 4009, reason: 'Origin not allowed' });
  assert.equal(originRefusal(app, ['https://ok.example']), undefined);
  assert.equal(originRefusal(undefined, 'https://evil.example'), undefined);
});

function connect(url: string, origin?: string): Promise<{ established: boolean; code?: number; reason?: string }> {
  const ws = new WebSocket(url, origin ? { origin } : {});
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as { event: string };
      ws.close();
      resolve({ established: frame.event === 'pusher:connection_established' });
    });
    ws.once('close', (code, reason) => resolve({ established: false, code, reason: reason.toString() }));
  });
}

test('the WebSocket handshake refuses an unlisted browser Origin with 4009 and follows changes to the list', async () => {
  const h = await startTestHerald({ app: { allowedOrigins: ['https://good.example'] } });
  try {
    let opened = 0;
    h.herald.engine.observe({ connectionOpened: () => opened++ });
    const url = `${h.wsUrl}/app/${h.app.key}?protocol=7&client=js&version=8.4.0`;
    assert.deepEqual(await connect(url, 'https://evil.example'), { established: false, code: 4009, reason: 'Origin not allowed' });
    assert.deepEqual(await connect(url, 'https://good.example'), { established: true });
    assert.deepEqual(await connect(url), { established: true }, 'no Origin header: not a browser page');
    assert.equal(opened, 2, 'the refused attempt never became a connection');

    const registry = h.herald.apps as MemoryAppRegistry;
    const current = registry.byId(h.app.id)!;
    registry.put(parseApp({ ...current, allowedOrigins: [] }));
    assert.deepEqual(await connect(url, 'https://evil.example'), { established: true }, 'empty list: any origin');

    // An unknown key is still refused by the engine with 4001, whatever the Origin.
    const unknown = await RawClient.connect(`${h.wsUrl}/app/no-such-key?protocol=7`);
    assert.equal((await unknown.closed).code, 4001);
  } finally {
    await h.stop();
  }
});
