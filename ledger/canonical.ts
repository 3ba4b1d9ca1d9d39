// The canonical encoding behind request hashes and the seal hash chain. It is versioned: a
// seal records the encoding it was made with, so the encoding can change without breaking
// the verification of older seals. docs/adr/0002-hash-chain.md describes version 1 in full.
import { createHash, hash } from 'node:crypto';
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

// One-shot hashing: about a fifth of the cost of a Hash object per short input, and the
// writer hashes every request it appends.
export function sha256(data: string | Buffer): Buffer {
  return hash('sha256', data, 'buffer');
}

/**
 * What an idempotency key is bound to. Fields the caller left out stay out, so a retry that
 * omits `effectiveAt` again is the same request even though the time has moved on.
 * The hash covers canonicalJson of { effectiveAt?, kind, metadata?, postings, reverses?,
 * sourceRef? } (keys in that, sorted, order), postings as [source, destination, asset, amount];
 * written out by hand because every append pays for it (canonical.test.ts proves it equal to
 * the generic form).
 */
export function requestHash(request: AppendRequest): string {
  let postings = '';
  for (const p of request.postings) {
    postings += `${postings ? ',' : ''}[${JSON.stringify(p.source)},${JSON.stringify(p.destination)},${JSON.stringify(p.asset)},"${p.amount}"]`;
  }
  let body = '{';
  if (request.effectiveAt) body += `"effectiveAt":"${request.effectiveAt.toISOString()}",`;
  body += `"kind":${JSON.stringify(request.kind)},`;
  if (request.metadata !== undefined) body += `"metadata":${canonicalJson(request.metadata)},`;
  body += `"postings":[${postings}]`;
  if (request.reverses !== undefined) body += `,"reverses":"${request.reverses}"`;
  if (request.sourceRef !== undefined) body += `,"sourceRef":${JSON.stringify(request.sourceRef)}`;
  return hash('sha256', body + '}', 'hex');
}

/** The fields of a v1 line, as text: ids and amounts in decimal, times in ISO 8601 (UTC, ms). */
export interface EntryLineFields {
  id: string;
  kind: string;
  idempotencyKey: string;
  requestHash: string;
  effectiveAt: string;
  insertedAt: string;
  sourceRef: string | null;
  metadata: Json;
  reverses: string | null;
  /** [index, source, destination, asset, amount] */
  postings: readonly (readonly [number, string, string, string, string])[];
}

/**
 * Version 1 of one entry's line in a seal: canonicalJson of
 * [id, kind, idempotencyKey, requestHash, effectiveAt, insertedAt, sourceRef, metadata, reverses,
 *  [[index, source, destination, asset, amount], …]], with ids and amounts as decimal strings.
 * Written out by hand because it runs for every entry the writer seals and verify re-reads
 * (verify feeds it text straight from SQL); canonical.test.ts proves it byte-identical to the
 * generic form.
 */
export function encodeEntryLineV1(fields: EntryLineFields): string {
  let postings = '';
  for (const [index, source, destination, asset, amount] of fields.postings) {
    postings += `${postings ? ',' : ''}[${index},${JSON.stringify(source)},${JSON.stringify(destination)},${JSON.stringify(asset)},"${amount}"]`;
  }
  return (
    `["${fields.id}",${JSON.stringify(fields.kind)},${JSON.stringify(fields.idempotencyKey)},"${fields.requestHash}",` +
    `"${fields.effectiveAt}","${fields.insertedAt}",` +
    `${fields.sourceRef === null ? 'null' : JSON.stringify(fields.sourceRef)},${canonicalJson(fields.metadata)},` +
    `${fields.reverses === null ? 'null' : `"${fields.reverses}"`},[${postings}]]`
  );
}

// The entries of a batch share one insertedAt (and most their effectiveAt): format it once.
let lastTime = Number.NaN;
let lastIso = '';
function iso(date: Date): string {
  const time = date.getTime();
  if (time !== lastTime) {
    lastIso = date.toISOString();
    lastTime = time;
  }
  return lastIso;
}

export function encodeEntryV1(entry: JournalEntry): string {
  return encodeEntryLineV1({
    id: entry.id.toString(),
    kind: entry.kind,
    idempotencyKey: entry.idempotencyKey,
    requestHash: entry.requestHash,
    effectiveAt: iso(entry.effectiveAt),
    insertedAt: iso(entry.insertedAt),
    sourceRef: entry.sourceRef,
    metadata: entry.metadata,
    reverses: entry.reverses === null ? null : entry.reverses.toString(),
    postings: entry.postings.map((p) => [p.index, p.source, p.destination, p.asset, p.amount.toString()] as const),
  });
}

/** An incremental seal hash: SHA-256(previous hash ‖ "coffer-ledger-seal/v1\n" ‖ lines joined by "\n"). */
export class SealHasher {
  private readonly hash = createHash('sha256');
  // Lines are handed to the hash ~64 KB at a time: one native call per line cost more than
  // hashing the line.
  private pending = '';
  private first = true;
  constructor(previousHash: Buffer, encodingVersion = sealEncodingVersion) {
    if (encodingVersion !== 1) throw new Error(`unknown seal encoding version ${encodingVersion}`);
    this.hash.update(previousHash);
    this.hash.update('coffer-ledger-seal/v1\n');
  }
  add(entry: JournalEntry): void {
    this.addLine(encodeEntryV1(entry));
  }
  addLine(line: string): void {
    this.pending += this.first ? line : '\n' + line;
    this.first = false;
    if (this.pending.length >= 65_536) this.flush();
  }
  digest(): Buffer {
    this.flush();
    return this.hash.digest();
  }
  private flush(): void {
    if (this.pending) this.hash.update(this.pending);
    this.pending = '';
  }
}
