/** The lean path's request-head reader: what it accepts, and everything it leaves to Node. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_HEAD_BYTES, MAX_HEADERS, readRequestHead, type RequestHead } from '../../src/platform/http1/head.js';

const read = (text: string, start = 0) => readRequestHead(Buffer.from(text, 'latin1'), start);
const head = (text: string): RequestHead => {
  const result = read(text);
  assert.equal(typeof result, 'object', `expected a head for ${JSON.stringify(text)}, got ${String(result)}`);
  return result as RequestHead;
};

test('a signed publish head: method, target, the kept headers (lower-case), body length and where the body starts', () => {
  const text = 'POST /apps/1/events?auth_key=k&body_md5=x HTTP/1.1\r\nHost: h:6001\r\nContent-Type: application/json\r\nContent-Length: 42\r\nX-Pusher-Library: pusher-http-node 5\r\n\r\n{"name"';
  const parsed = head(text);
  assert.equal(parsed.method, 'POST');
  assert.equal(parsed.url, '/apps/1/events?auth_key=k&body_md5=x');
  assert.deepEqual({ ...parsed.headers }, { host: 'h:6001', 'content-type': 'application/json', 'content-length': '42' });
  assert.equal(parsed.contentLength, 42);
  assert.equal(parsed.keepAlive, true);
  assert.equal(parsed.bodyStart, text.indexOf('{'));
});

test('a head that has not fully arrived is incomplete; reading starts at the given offset (pipelining)', () => {
  assert.equal(read('GET /health HTTP/1.1\r\nHost: h\r\n'), 'incomplete');
  assert.equal(read(''), 'incomplete');
  const two = 'GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n';
  const first = head(two);
  const second = read(two, first.bodyStart) as RequestHead;
  assert.equal(second.url, '/b');
  assert.equal(second.bodyStart, two.length);
});

test('Connection: close (any case, in a list) turns keep-alive off; an upgrade is Node\'s', () => {
  assert.equal(head('GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n').keepAlive, false);
  assert.equal(head('GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, close\r\n\r\n').keepAlive, false);
  assert.equal(head('GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n').keepAlive, true);
  assert.equal(read('GET /app/k HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'), 'handOff');
  assert.equal(read('GET /app/k HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n'), 'handOff');
});

test('everything outside the plain shape is handed to Node, which answers it as it always did', () => {
  const cases: Record<string, string> = {
    'HTTP/1.0': 'GET / HTTP/1.0\r\nHost: h\r\n\r\n',
    'HTTP/2 preface': 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    'HEAD': 'HEAD / HTTP/1.1\r\nHost: h\r\n\r\n',
    'OPTIONS (CORS preflight)': 'OPTIONS /apps/1/events HTTP/1.1\r\nHost: h\r\n\r\n',
    'lower-case method': 'get / HTTP/1.1\r\nHost: h\r\n\r\n',
    'absolute-form target': 'GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n',
    'space in the target': 'GET /a b HTTP/1.1\r\nHost: h\r\n\r\n',
    'no Host': 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n',
    'chunked body': 'POST /apps/1/events HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n',
    'Expect: 100-continue': 'POST /apps/1/events HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n',
    'duplicate header': 'GET / HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n',
    'duplicate Content-Length': 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n',
    'signed Content-Length': 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +2\r\n\r\n',
    'Content-Length list': 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2, 2\r\n\r\n',
    'space before the colon': 'GET / HTTP/1.1\r\nHost : h\r\n\r\n',
    'line without a colon': 'GET / HTTP/1.1\r\nHost: h\r\nnonsense\r\n\r\n',
    'obs-fold': 'GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n',
    'bare LF': 'GET / HTTP/1.1\nHost: h\r\n\r\n',
    'bare CR': 'GET / HTTP/1.1\r\nHost: h\rX: 1\r\n\r\n',
    'control byte': 'GET / HTTP/1.1\r\nHost: h\x00\r\n\r\n',
    'obs-text byte': 'GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\xe9\r\n\r\n',
    'TE header': 'GET / HTTP/1.1\r\nHost: h\r\nTE: trailers\r\n\r\n',
  };
  for (const [name, text] of Object.entries(cases)) assert.equal(read(text), 'handOff', name);
});

test('limits: a head over 16 KB, with or without its end, and more than 64 headers are Node\'s', () => {
  const long = `GET / HTTP/1.1\r\nHost: h\r\nX-Long: ${'a'.repeat(MAX_HEAD_BYTES)}`;
  assert.equal(read(long), 'handOff', 'no end in sight after 16 KB');
  assert.equal(read(`${long}\r\n\r\n`), 'handOff');
  const many = (n: number) => `GET / HTTP/1.1\r\nHost: h\r\n${Array.from({ length: n - 1 }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`;
  assert.equal(typeof read(many(MAX_HEADERS)), 'object');
  assert.equal(read(many(MAX_HEADERS + 1)), 'handOff');
});

test('only the headers the lean path uses are kept; others, __proto__ included, are skipped unread', () => {
  const parsed = head('GET / HTTP/1.1\r\nHost: h\r\n__proto__: x\r\nAccept: */*\r\nAccept: again\r\nOrigin: https://a\r\nX-Request-Id: r1\r\nAuthorization: Bearer t\r\n\r\n');
  assert.deepEqual({ ...parsed.headers }, { host: 'h', origin: 'https://a', 'x-request-id': 'r1', authorization: 'Bearer t' });
  assert.equal(Object.getPrototypeOf(parsed.headers), Object.prototype);
  assert.equal(read('GET / HTTP/1.1\r\nHost: h\r\nOrigin: a\r\norigin: b\r\n\r\n'), 'handOff', 'a kept header repeated is Node\'s');
});

test('header values are trimmed of surrounding spaces and tabs; empty values are kept', () => {
  const parsed = head('GET / HTTP/1.1\r\nHost:\th \r\nOrigin:\r\nContent-Length:  0 \r\n\r\n');
  assert.equal(parsed.headers.host, 'h');
  assert.equal(parsed.headers.origin, '');
  assert.equal(parsed.contentLength, 0);
});
