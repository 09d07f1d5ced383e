/** The apps capability's refusals without a server: the usage window rule and store refusals as domain errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { storeCall } from '../../src/apps/admin-api.js';
import { AppStoreError } from '../../src/apps/store.js';
import { usageWindow } from '../../src/apps/usage-window.js';
import { DomainError } from '../../src/platform/errors.js';

const invalidWith = (message: string) => (err: unknown) => err instanceof DomainError && err.kind === 'invalid' && err.message === message;

test('usageWindow: from/to or days ending today; broken rules are `invalid`', () => {
  assert.deepEqual(usageWindow({ from: '2026-01-01', to: '2026-01-31' }), { from: '2026-01-01', to: '2026-01-31' });
  assert.deepEqual(usageWindow({ to: '2026-03-10', days: '10' }), { from: '2026-03-01', to: '2026-03-10' });
  assert.throws(() => usageWindow({ from: '2026-1-1' }), invalidWith('from must be a date as YYYY-MM-DD (UTC)'));
  assert.throws(() => usageWindow({ days: '0' }), invalidWith('days must be a whole number from 1 to 400'));
  assert.throws(() => usageWindow({ from: '2026-02-01', to: '2026-01-01' }), invalidWith('from must not be after to'));
  assert.throws(() => usageWindow({ from: '2020-01-01', to: '2026-01-01' }), invalidWith('At most 400 days per request'));
});

test('storeCall: store refusals become domain errors with the store kind as code; results pass through', async () => {
  const refused = (kind: ConstructorParameters<typeof AppStoreError>[0]) => storeCall(() => Promise.reject(new AppStoreError(kind, `refused: ${kind}`)));
  const expected = { not_found: 'not_found', conflict: 'conflict', invalid: 'invalid', limit: 'conflict', read_only: 'conflict', unavailable: 'unavailable' } as const;
  for (const [storeKind, kind] of Object.entries(expected) as Array<[keyof typeof expected, string]>) {
    await assert.rejects(refused(storeKind), (err: unknown) => err instanceof DomainError && err.kind === kind && err.code === storeKind && err.message === `refused: ${storeKind}`);
  }
  assert.equal(await storeCall(async () => 7), 7);
});
