/** Webhook admin actions without a server: an unknown endpoint is not_found, an unreachable outbox unavailable. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webhookAction } from '../../src/webhooks/routes.js';
import { UnknownEndpointError } from '../../src/webhooks/service.js';
import { DomainError, invalid } from '../../src/platform/errors.js';

test('webhookAction maps failures to domain errors', async () => {
  assert.equal(await webhookAction(async () => 'ok'), 'ok');
  await assert.rejects(
    webhookAction(() => Promise.reject(new UnknownEndpointError('1', 'https://example.com/hook'))),
    (err: unknown) => err instanceof DomainError && err.kind === 'not_found' && err.message === 'App 1 has no webhook endpoint https://example.com/hook',
  );
  await assert.rejects(webhookAction(() => Promise.reject(invalid('Send {"url": "<endpoint URL>"}'))), (err: unknown) => err instanceof DomainError && err.kind === 'invalid');
  await assert.rejects(
    webhookAction(() => Promise.reject(new Error('connect ECONNREFUSED'))),
    (err: unknown) => err instanceof DomainError && err.kind === 'unavailable' && err.message === 'Webhook outbox unavailable (database not reachable)',
  );
});
