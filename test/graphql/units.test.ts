/** The pieces without a server: the limits rule, bounded subscription streams, the vacate window, schema wiring. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSchema, parse, specifiedRules, validate } from 'graphql';
import { queryLimitsRule } from '../../src/graphql/limits.js';
import { allResolvers } from '../../src/graphql/resolvers/index.js';
import { buildExecutableSchema, loadSchemaText } from '../../src/graphql/schema.js';
import { EventStream, StreamFailure } from '../../src/graphql/streams.js';
import { HeldEvents } from '../../src/graphql/webhook-hold.js';

const SDL = `type Query { node: Node } type Node { id: ID child: Node }`;

function limitErrors(query: string, limits = { maxDepth: 3, maxIntrospectionDepth: 5, maxComplexity: 10, maxIntrospectionCost: 100_000, maxRepeatedField: 20 }) {
  return validate(buildSchema(SDL), parse(query), [...specifiedRules, queryLimitsRule(limits)]).map((e) => e.message);
}

test('queryLimitsRule: depth and field count, fragments expanded, bombs refused cheaply', () => {
  assert.deepEqual(limitErrors('{ node { child { id } } }'), []);
  assert.match(limitErrors('{ node { child { child { id } } } }')[0]!, /too deep: fields nest 4 levels; the limit is 3/);
  assert.match(limitErrors('{ ...F } fragment F on Query { node { child { child { id } } } }')[0]!, /too deep/);
  assert.match(limitErrors(`{ ${Array.from({ length: 11 }, (_, i) => `a${i}: node { id }`).join(' ')} }`)[0]!, /too complex/);
  // Each level doubles the work: 2^20 expansions if walked naively.
  const bomb = ['query { ...F0 }', ...Array.from({ length: 20 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`), 'fragment F20 on Query { node { id } }'].join('\n');
  const errors = limitErrors(bomb);
  assert.ok(errors.some((m) => /too complex/.test(m)), errors.join('; '));
  // Introspection gets more room than ordinary fields.
  assert.deepEqual(limitErrors('{ __schema { types { fields { type { name } } } } }'), []);
});

test('EventStream: delivers in order, ends with a StreamFailure when the subscriber falls behind, detaches once', async () => {
  let detached = 0;
  const stream = new EventStream<number>(2, () => detached++);
  stream.push(1);
  stream.push(2);
  stream.push(3); // over the limit: the stream fails after what is queued
  assert.deepEqual(await stream.next(), { value: 1, done: false });
  assert.deepEqual(await stream.next(), { value: 2, done: false });
  const failure = (await stream.next()).value;
  assert.ok(failure instanceof StreamFailure);
  assert.equal(failure.toError().extensions.code, 'RATE_LIMITED');
  assert.deepEqual(await stream.next(), { value: undefined, done: true });
  assert.equal(detached, 1);

  const waiting = new EventStream<string>(10, () => detached++);
  const pending = waiting.next();
  waiting.push('a');
  assert.deepEqual(await pending, { value: 'a', done: false });
  const ended = waiting.next();
  await waiting.return();
  assert.deepEqual(await ended, { value: undefined, done: true });
  waiting.push('ignored');
  assert.deepEqual(await waiting.next(), { value: undefined, done: true });
  assert.equal(detached, 2);
});

test('HeldEvents: held events are released later unless cancelled; cancelling events then vanish too', async () => {
  const released: string[] = [];
  const held = new HeldEvents<string>((v) => released.push(v));
  held.offer('app', 'occupied', {});
  held.offer('app', 'vacated', { hold: { key: 'k', ms: 10_000 } });
  held.offer('app', 'reoccupied', { cancels: 'k' });
  assert.deepEqual(released, ['occupied']);
  assert.equal(held.size, 0);

  const done = new Promise<void>((resolve) => {
    const h2 = new HeldEvents<string>((v) => {
      released.push(v);
      if (v === 'removed') resolve();
    });
    h2.offer('app', 'removed', { hold: { key: 'm', ms: 1 } });
    h2.offer('other-app', 'added', { cancels: 'm' }); // another app's key: no effect
  });
  await done;
  assert.deepEqual(released, ['occupied', 'added', 'removed']);
  held.clear();
});

test('the schema file loads and every operation has a resolver', () => {
  const schema = buildExecutableSchema(loadSchemaText(), allResolvers());
  assert.ok(schema.getQueryType()!.getFields().channels!.resolve);
  assert.ok(schema.getSubscriptionType()!.getFields().channelEvents!.subscribe);
  assert.throws(() => buildExecutableSchema(loadSchemaText(), { ...allResolvers(), Query: { nope: () => 1 } }), /Query.nope is not in the schema/);
  const { Query: _q, ...withoutQuery } = allResolvers();
  assert.throws(() => buildExecutableSchema(loadSchemaText(), withoutQuery), /has no resolver/);
});
