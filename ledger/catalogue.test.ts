import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertCatalogued, entryMetadata } from './catalogue.ts';
import { LedgerInputError } from './errors.ts';
import { validateAppendRequest } from './validate.ts';

const sweepSubmitted = { userId: 'u1', depositEntryId: '7', address: '0xab', treasury: '0xcd', nonce: 3, txHash: '0xef' };

test('the writer refuses a catalogued kind whose metadata does not fit, naming the field', () => {
  const request = { kind: 'sweep.submitted', idempotencyKey: 'k', postings: [{ source: 'custody:ethereum:0xab', destination: 'custody:ethereum:0xab:sweeping', asset: 'USDC', amount: 1n }] };
  assert.doesNotThrow(() => validateAppendRequest({ ...request, metadata: sweepSubmitted }));
  assert.throws(
    () => validateAppendRequest({ ...request, metadata: { ...sweepSubmitted, depositEntryId: 7 } }),
    (error: unknown) => error instanceof LedgerInputError && error.code === 'invalid_metadata' && error.field === 'metadata.depositEntryId',
  );
  // A UTXO consolidation names its coins and fee instead of one deposit.
  assert.doesNotThrow(() => assertCatalogued('sweep.submitted', { txHash: 'ab', treasury: 'bc1q', inputs: 2, feeSat: '300', consolidation: true }));
  assert.throws(
    () => assertCatalogued('sweep.confirmed', { txHash: 'ab', inputs: 2 }),
    (error: unknown) => error instanceof LedgerInputError && error.field === 'metadata.feeSat',
  );
  // A deposit names its owner: a user or an agent wallet.
  assert.throws(() => assertCatalogued('deposit.pending', { chain: 'ethereum', address: '0xab' }), LedgerInputError);
  assert.doesNotThrow(() => assertCatalogued('deposit.pending', { chain: 'ethereum', address: '0xab', walletId: 'w1', txid: 'chain-specific fields pass' }));
  // Kinds outside the catalogue are the caller's (benches' synthetic transfers).
  assert.doesNotThrow(() => assertCatalogued('transfer', { anything: 1 }));
});

test('a reader gets typed metadata, or an error naming the entry', () => {
  const entry = { id: 42n, kind: 'deposit.confirmed', metadata: { depositKey: 'ethereum:0x1:0:deposit@0x2', blockHeight: 9 } };
  assert.equal(entryMetadata('deposit.confirmed', entry).depositKey, 'ethereum:0x1:0:deposit@0x2');
  assert.throws(() => entryMetadata('deposit.pending', entry), /journal entry 42 is a deposit.confirmed/);
  assert.throws(() => entryMetadata('deposit.confirmed', { ...entry, metadata: {} }), /journal entry 42 .*depositKey/);
});
