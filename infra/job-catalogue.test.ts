import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobPayloadError, parseJobPayload, queueNames } from './job-catalogue.ts';
import { enqueue, type OutboxJob } from './outbox.ts';

test('a payload is parsed by its catalogue entry; an unknown job or a misfit payload is refused', () => {
  assert.deepEqual(parseJobPayload('credits', 'credit-deposit', { confirmationEntryId: '12', outboxId: '3' }), { confirmationEntryId: '12' });
  assert.throws(() => parseJobPayload('credits', 'credit-deposit', { confirmationEntryId: 12 }), /credits\/credit-deposit: payload confirmationEntryId/);
  assert.throws(() => parseJobPayload('refills', 'refill-deposit-address', { sweepId: '1' }), JobPayloadError);
  assert.ok(queueNames.includes('relays'));
});

test('enqueue refuses a payload that does not fit before it writes anything', async () => {
  // A stand-in connection: the refusal must come before any query.
  const neverQueried = { query: () => Promise.reject(new Error('enqueue wrote a misfit job')) };
  const misfit = { queue: 'sweeps', name: 'sweep-deposit', dedupeKey: 'sweep:x', payload: { depositEntryId: 'x' } } as OutboxJob;
  await assert.rejects(enqueue(neverQueried as never, [misfit]), JobPayloadError);
});
