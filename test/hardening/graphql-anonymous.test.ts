/**
 * Anonymous GraphQL work is bounded (docs/hardening.md, docs/graphql.md): introspection needs no
 * credentials, so its answer size is costed before execution, repeated identical requests are
 * answered from a cache, and requests without credentials are rate-limited per client address.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getIntrospectionQuery } from 'graphql';
import { appAuth, gql, startGraphqlHerald } from '../graphql/support.js';

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
