/**
 * Anonymous GraphQL work is bounded (docs/hardening.md, docs/graphql.md): introspection needs no
 * credentials, so its answer size is costed before execution, repeated identical requests are
 * answered from a cache, and requests without credentials are rate-limited per client address;
 * requests with wrong credentials are refused before their body is read, and graphql-ws sockets
 * may only send small messages until their credentials are accepted. Also graphql-ws close reasons
 * that echo client input (cut to 123 bytes instead of ws throwing).
 */
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { getIntrospectionQuery } from 'graphql';
import { WebSocket } from 'ws';
import { appAuth, basic, gql, startGraphqlHerald } from '../graphql/support.js';
import { withTimeout } from '../helpers/wait.js';

const WALK = '__schema { types { name fields { name args { name type { name ofType { name } } } } } }';
/** 90 aliased walks, 990 fields (under the field limit), 8 KB: megabytes of answer when executed. */
const BOMB = `{ ${Array.from({ length: 90 }, (_, i) => `a${i}: ${WALK}`).join(' ')} }`;
/** No aliases, but every field's type walked for its fields, seven levels down. */
const NESTED = '{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }';

test('introspection answers are costed: alias and nesting bombs refused before execution, a full introspection query admitted', async () => {
  const h = await startGraphqlHerald();
  try {
    // Two requests without credentials: the per-address burst.
    for (const [query, auth] of [[BOMB, null], [NESTED, appAuth(h)], [BOMB, appAuth(h)]] as const) {
      const res = await gql(h, query, undefined, auth);
      assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 300));
      assert.equal(res.body.data, undefined);
      assert.equal(res.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
      assert.equal(res.body.errors?.[0]?.extensions?.limit, 'introspectionCost');
      assert.match(res.body.errors![0]!.message, /Introspection answer too large: .* the limit is 400000/);
    }
    // What GraphiQL, codegen tools and the explorer send still works, with and without credentials.
    const full = await gql(h, getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }), undefined, null);
    assert.equal(full.status, 200, JSON.stringify(full.body.errors));
    assert.ok(full.body.data.__schema.types.length > 50);
    const withAuth = await gql(h, getIntrospectionQuery(), undefined, appAuth(h));
    assert.equal(withAuth.status, 200, JSON.stringify(withAuth.body.errors));
  } finally {
    await h.stop();
  }
});

test('requests without credentials are rate-limited per address; repeated introspection is answered from a cache; credentials lift the limit', async () => {
  const h = await startGraphqlHerald();
  try {
    const query = getIntrospectionQuery();
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await gql(h, query, undefined, null));
    const statuses = answers.map((a) => a.status);
    // Bursts of one second's worth (2), then 429 until the bucket refills.
    assert.deepEqual(statuses.slice(0, 2), [200, 200], JSON.stringify(statuses));
    assert.ok(statuses.includes(429), `some anonymous requests refused: ${JSON.stringify(statuses)}`);
    assert.deepEqual(answers[1]!.body, answers[0]!.body, 'the cached answer is the same answer');
    const refused = answers.find((a) => a.status === 429)!;
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal(refused.body.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
    assert.match(refused.body.errors![0]!.message, /without credentials from this address/);
    // Authenticated callers draw on their app's budget, not the anonymous one.
    for (let i = 0; i < 5; i++) {
      const res = await gql(h, '{ __typename }', undefined, appAuth(h));
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
  } finally {
    await h.stop();
  }
});

/** Sends headers and the first bytes of a body that never ends; resolves with the answer's status line and body. */
function answerBeforeBody(port: number, headers: string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.on('error', () => undefined);
  socket.write(`POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n${headers}\r\n{"query":"{ `);
  const answered = new Promise<string>((resolve) =>
    socket.on('data', (chunk) => {
      received += chunk.toString();
      const end = received.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(received);
      if (end >= 0 && length && received.length >= end + 4 + Number(length[1])) resolve(received);
    }),
  );
  return withTimeout(answered, 5000, 'an answer while the body is still being sent').finally(() => socket.destroy());
}

test('wrong credentials are refused with 401 before the body is read or parsed (they do not escape the anonymous rate limit)', async () => {
  const h = await startGraphqlHerald();
  try {
    for (const authorization of ['Bearer wrong-token', basic(h.app.key, 'wrong-secret'), basic('no-such-instance', 'x'), 'Garbage']) {
      const answer = await answerBeforeBody(h.port, `Authorization: ${authorization}\r\n`);
      assert.match(answer, /^HTTP\/1\.1 401 /, authorization);
      assert.match(answer, /"code":"UNAUTHENTICATED"/);
    }
    // The right credentials still get their (broken) query parsed: 400, not 401.
    const broken = await gql(h, '{ ', undefined, appAuth(h));
    assert.equal(broken.status, 400);
    assert.equal(broken.body.errors?.[0]?.extensions?.code, 'GRAPHQL_PARSE_FAILED');
    // So do requests without credentials, which only introspection may make.
    const anonymous = await gql(h, '{ apps { id } }', undefined, null);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.body.errors![0]!.message, /^Authentication required/);
  } finally {
    await h.stop();
  }
});

/** A raw graphql-ws socket: sends `messages` in turn, each after the answer to the one before; resolves with the answers and the close code. */
function graphqlWs(port: number, messages: unknown[]): Promise<{ answers: Array<{ type: string; id?: string; payload?: any }>; code: number }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws');
  const answers: Array<{ type: string; payload?: any }> = [];
  const next = () => {
    const message = messages.shift();
    if (message === undefined) ws.close(1000);
    else ws.send(JSON.stringify(message));
  };
  ws.on('open', next);
  ws.on('message', (data) => {
    answers.push(JSON.parse(String(data)));
    if (answers.at(-1)!.type !== 'ping') next();
  });
  return withTimeout(new Promise((resolve) => ws.on('close', (code) => resolve({ answers, code }))), 5000, 'the graphql-ws socket to close');
}

test('graphql-ws: before its credentials are accepted a socket may send 16 KiB messages (1009 beyond, not logged); maxBodyBytes after', async () => {
  const h = await startGraphqlHerald();
  // graphql-ws prints every socket error with console.error: a client's protocol error must not reach it.
  const printed = mock.method(console, 'error', () => undefined);
  try {
    const pad = 'x'.repeat(100_000);
    for (const authorization of ['Bearer wrong-token', appAuth(h)]) {
      const refused = await graphqlWs(h.port, [{ type: 'connection_init', payload: { authorization, pad } }]);
      assert.equal(refused.code, 1009, authorization);
      assert.deepEqual(refused.answers, []);
    }
    assert.deepEqual(printed.mock.calls.map((c) => String(c.arguments[0])), []);
    // Once acknowledged, the socket has the usual limit: a 100 KB subscribe message runs.
    const accepted = await graphqlWs(h.port, [
      { type: 'connection_init', payload: { authorization: appAuth(h) } },
      { id: '1', type: 'subscribe', payload: { query: '{ __typename }', variables: { pad } } },
    ]);
    assert.deepEqual(
      accepted.answers.map((a) => a.type),
      ['connection_ack', 'next', 'complete'],
    );
    assert.deepEqual(accepted.answers[1]!.payload, { data: { __typename: 'Query' } });
    assert.equal(accepted.code, 1000);
  } finally {
    printed.mock.restore();
    await h.stop();
  }
});

test('graphql-ws: close reasons echoing a long operation id are cut to 123 bytes, so the client gets the close code it caused (4409)', async () => {
  const h = await startGraphqlHerald();
  try {
    const id = 'i'.repeat(300);
    const subscribe = JSON.stringify({ id, type: 'subscribe', payload: { query: 'subscription { channelEvents(channel: "dup") { name } }' } });
    const ws = new WebSocket(`ws://127.0.0.1:${h.port}/graphql`, 'graphql-transport-ws');
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: appAuth(h) } })));
    ws.on('message', (data) => {
      // The same id twice: graphql-ws closes with 4409 `Subscriber for <id> already exists`.
      if (JSON.parse(String(data)).type === 'connection_ack') for (let i = 0; i < 2; i++) ws.send(subscribe);
    });
    const [code, reason] = await withTimeout(new Promise<[number, string]>((resolve) => ws.on('close', (c, r) => resolve([c, String(r)]))), 5000, 'the socket to close');
    assert.equal(code, 4409);
    assert.equal(reason, `Subscriber for ${id}`.slice(0, 123));
  } finally {
    await h.stop();
  }
});
