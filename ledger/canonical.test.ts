import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson, encodeEntryV1, requestHash, SealHasher, sha256, zeroHash } from './canonical.ts';
import type { AppendRequest, Json, JournalEntry } from './types.ts';

/** The definition of a v1 line, spelled out generically: the fast encoder must match it byte for byte. */
function referenceLineV1(entry: JournalEntry): string {
  return canonicalJson([
    entry.id.toString(),
    entry.kind,
    entry.idempotencyKey,
    entry.requestHash,
    entry.effectiveAt.toISOString(),
    entry.insertedAt.toISOString(),
    entry.sourceRef,
    entry.metadata,
    entry.reverses === null ? null : entry.reverses.toString(),
    entry.postings.map((p) => [p.index, p.source, p.destination, p.asset, p.amount.toString()]),
  ]);
}

const text = fc.string({ unit: 'binary', maxLength: 40 });
const entry: fc.Arbitrary<JournalEntry> = fc.record({
  id: fc.bigInt(1n, 2n ** 63n - 1n),
  kind: text,
  idempotencyKey: text,
  requestHash: fc.stringMatching(/^[0-9a-f]{64}$/),
  effectiveAt: fc.date({ min: new Date(0), max: new Date(Date.UTC(9999, 0)), noInvalidDate: true }),
  insertedAt: fc.date({ min: new Date(0), max: new Date(Date.UTC(9999, 0)), noInvalidDate: true }),
  sourceRef: fc.option(text, { nil: null }),
  metadata: fc.dictionary(text, fc.jsonValue() as fc.Arbitrary<Json>),
  reverses: fc.option(fc.bigInt(1n, 2n ** 63n - 1n), { nil: null }),
  postings: fc.array(
    fc.record({ index: fc.nat(255), source: text, destination: text, asset: text, amount: fc.bigInt(1n, 10n ** 78n - 1n) }),
    { minLength: 1, maxLength: 4 },
  ),
});

/** The definition of a request hash, spelled out generically. */
function referenceRequestHash(request: AppendRequest): string {
  const body: { [key: string]: Json } = {
    kind: request.kind,
    postings: request.postings.map((p) => [p.source, p.destination, p.asset, p.amount.toString()]),
  };
  if (request.effectiveAt) body.effectiveAt = request.effectiveAt.toISOString();
  if (request.sourceRef !== undefined) body.sourceRef = request.sourceRef;
  if (request.metadata !== undefined) body.metadata = request.metadata;
  if (request.reverses !== undefined) body.reverses = request.reverses.toString();
  return sha256(canonicalJson(body)).toString('hex');
}

const request: fc.Arbitrary<AppendRequest> = fc.record(
  {
    kind: text,
    idempotencyKey: text,
    postings: fc.array(fc.record({ source: text, destination: text, asset: text, amount: fc.bigInt(1n, 10n ** 78n - 1n) }), { minLength: 1, maxLength: 4 }),
    effectiveAt: fc.date({ min: new Date(0), max: new Date(Date.UTC(9999, 0)), noInvalidDate: true }),
    sourceRef: text,
    metadata: fc.dictionary(text, fc.jsonValue() as fc.Arbitrary<Json>),
    reverses: fc.bigInt(1n, 2n ** 63n - 1n),
  },
  { requiredKeys: ['kind', 'idempotencyKey', 'postings'] },
);

describe('canonical encoding v1', () => {
  test('the fast request hash equals the generic definition', () => {
    fc.assert(fc.property(request, (r) => assert.equal(requestHash(r), referenceRequestHash(r))), { numRuns: 2_000 });
  });

  test('the fast entry encoder is byte-identical to the generic definition', () => {
    fc.assert(fc.property(entry, (e) => assert.equal(encodeEntryV1(e), referenceLineV1(e))), { numRuns: 2_000 });
  });

  test('object keys are sorted at every depth, so key order never changes a hash', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [true, null], c: 'x' } }), '{"a":{"c":"x","d":[true,null]},"b":1}');
    const one = new SealHasher(zeroHash);
    const other = new SealHasher(zeroHash);
    const base = fc.sample(entry, { numRuns: 1, seed: 42 })[0]!;
    one.add({ ...base, metadata: { x: 1, y: 2 } });
    other.add({ ...base, metadata: { y: 2, x: 1 } });
    assert.deepEqual(one.digest(), other.digest());
  });
});
