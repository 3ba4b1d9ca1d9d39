// Random public ids and secrets, and how a secret is kept: every key and token coffer issues (API
// keys, signing clients, relayers and their tokens, users, spends) is made here. An id is public
// (it indexes a row); a secret exists once, in the answer that issues it, and only its SHA-256 is
// stored. A plain hash suffices because a secret is 32 random bytes: there is nothing to search.
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

const idAlphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `prefix` then `length` random lower-case letters and digits (each drawn uniformly). */
export function randomId(length: number, prefix = ''): string {
  let id = prefix;
  for (let i = 0; i < length; i += 1) id += idAlphabet[randomInt(idAlphabet.length)];
  return id;
}

/** `bytes` random bytes as base64url: 32 bytes (43 characters) unless told otherwise. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** What is stored of a secret. */
export function secretHash(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** Whether `secret` is the one whose hash is stored, in constant time. */
export function secretMatches(stored: Buffer, secret: string): boolean {
  const presented = secretHash(secret);
  return stored.length === presented.length && timingSafeEqual(stored, presented);
}
