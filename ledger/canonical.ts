// The canonical encoding behind request hashes and the seal hash chain. It is versioned: a
// seal records the encoding it was made with, so the encoding can change without breaking
// the verification of older seals. docs/adr/0002-hash-chain.md describes version 1 in full.
import { createHash } from 'node:crypto';
import type { AppendRequest, Json, JournalEntry } from './types.ts';

export const sealEncodingVersion = 1;
export const zeroHash = Buffer.alloc(32);

/** JSON with object keys sorted (by UTF-16 code units) at every depth and no spaces. */
export function canonicalJson(value: Json): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key]!)}`).join(',')}}`;
}

export function sha256(data: string | Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/**
 * What an idempotency key is bound to. Fields the caller left out stay out, so a retry that
 * omits `effectiveAt` again is the same request even though the time has moved on.
 */
export function requestHash(request: AppendRequest): string {
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

/**
 * Version 1 of one entry's line in a seal: canonicalJson of
 * [id, kind, idempotencyKey, requestHash, effectiveAt, insertedAt, sourceRef, metadata, reverses,
 *  [[index, source, destination, asset, amount], …]], with ids and amounts as decimal strings.
 * Written out by hand because it runs for every entry the writer seals and verify re-reads;
 * canonical.test.ts proves it byte-identical to the generic form.
 */
export function encodeEntryV1(entry: JournalEntry): string {
  let postings = '';
  for (const p of entry.postings) {
    postings += `${postings ? ',' : ''}[${p.index},${JSON.stringify(p.source)},${JSON.stringify(p.destination)},${JSON.stringify(p.asset)},"${p.amount}"]`;
  }
  return (
    `["${entry.id}",${JSON.stringify(entry.kind)},${JSON.stringify(entry.idempotencyKey)},"${entry.requestHash}",` +
    `"${entry.effectiveAt.toISOString()}","${entry.insertedAt.toISOString()}",` +
    `${entry.sourceRef === null ? 'null' : JSON.stringify(entry.sourceRef)},${canonicalJson(entry.metadata)},` +
    `${entry.reverses === null ? 'null' : `"${entry.reverses}"`},[${postings}]]`
  );
}

/** An incremental seal hash: SHA-256(previous hash ‖ "coffer-ledger-seal/v1\n" ‖ lines joined by "\n"). */
export class SealHasher {
  private readonly hash = createHash('sha256');
  private first = true;
  constructor(previousHash: Buffer, encodingVersion = sealEncodingVersion) {
    if (encodingVersion !== 1) throw new Error(`unknown seal encoding version ${encodingVersion}`);
    this.hash.update(previousHash);
    this.hash.update('coffer-ledger-seal/v1\n');
  }
  add(entry: JournalEntry): void {
    if (!this.first) this.hash.update('\n');
    this.hash.update(encodeEntryV1(entry));
    this.first = false;
  }
  digest(): Buffer {
    return this.hash.digest();
  }
}
