// Ids and secrets: their shapes are what the token patterns of access/, remote-signer/ and
// relayer/ parse, and a secret matches only its own hash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomId, randomSecret, secretHash, secretMatches } from './random.ts';

test('an id is its prefix and that many lower-case letters and digits, and ids differ', () => {
  const ids = new Set(Array.from({ length: 1_000 }, () => randomId(16)));
  assert.equal(ids.size, 1_000);
  for (const id of ids) assert.match(id, /^[a-z0-9]{16}$/);
  assert.match(randomId(20, 'spd_'), /^spd_[a-z0-9]{20}$/);
  // Every character of the alphabet turns up (a draw that skipped some would shrink the id space).
  assert.equal(new Set([...ids].join('')).size, 36);
});

test('a secret is 32 random bytes as base64url unless told otherwise', () => {
  assert.match(randomSecret(), /^[A-Za-z0-9_-]{43}$/);
  assert.match(randomSecret(18), /^[A-Za-z0-9_-]{24}$/);
  assert.notEqual(randomSecret(), randomSecret());
});

test('a secret matches only its own stored hash', () => {
  const secret = randomSecret();
  const stored = secretHash(secret);
  assert.equal(stored.length, 32);
  assert.ok(secretMatches(stored, secret));
  assert.ok(!secretMatches(stored, randomSecret()));
  assert.ok(!secretMatches(stored.subarray(0, 16), secret), 'a stored hash of another length never matches (and does not throw)');
});
