/** NUL characters PostgreSQL cannot store are the caller's input: an `invalid` domain error, not a server failure. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Database } from '../../src/storage/database.js';
import { refuseUnstorableText } from '../../src/storage/open.js';
import { DomainError } from '../../src/platform/errors.js';

function failingWith(code: string): Database {
  const fail = () => Promise.reject(Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code }));
  return { kind: 'embedded', query: fail, transaction: (fn) => fn({ query: fail }), close: async () => {} };
}

test('SQLSTATE 22021 and 22P05 become `invalid` with code invalid_text, in queries and transactions', async () => {
  for (const code of ['22021', '22P05']) {
    const db = refuseUnstorableText(failingWith(code));
    const isInvalidText = (err: unknown) =>
      err instanceof DomainError && err.kind === 'invalid' && err.code === 'invalid_text' && err.message === 'Text containing NUL characters (\\u0000) cannot be stored';
    await assert.rejects(db.query('INSERT …', ['a\u0000b']), isInvalidText);
    await assert.rejects(db.transaction((tx) => tx.query('INSERT …')), isInvalidText);
  }
});

test('other database errors pass through unchanged', async () => {
  const db = refuseUnstorableText(failingWith('23505'));
  await assert.rejects(db.query('INSERT …'), (err: unknown) => !(err instanceof DomainError) && (err as { code?: string }).code === '23505');
});
