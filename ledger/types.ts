// The ledger's nouns, in the words of accountants: a journal entry has postings; a posting
// moves an amount of an asset from a source account to a destination account.

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface PostingInput {
  source: string;
  destination: string;
  /** A registered asset code such as `USDC` or `CHOCO`. */
  asset: string;
  /** Minor units (wei, satoshi, …); always > 0. */
  amount: bigint;
}

export interface AppendRequest {
  /** What happened, as a dotted lower-case word: `deposit.pending`, `adjustment`, … */
  kind: string;
  /** Unique per entry; chain events use `chain:txhash:logindex:kind`. */
  idempotencyKey: string;
  postings: PostingInput[];
  /** Chain or business time; defaults to the time of the append. */
  effectiveAt?: Date;
  /** Where the entry came from (a transaction hash, a request id, …). */
  sourceRef?: string;
  metadata?: JsonObject;
  /** The id of the entry this one reverses; its postings must mirror that entry's. */
  reverses?: bigint;
}

export interface Posting {
  index: number;
  source: string;
  destination: string;
  asset: string;
  amount: bigint;
}

export interface JournalEntry {
  /** The journal sequence: gapless, in append order. */
  id: bigint;
  kind: string;
  idempotencyKey: string;
  requestHash: string;
  effectiveAt: Date;
  insertedAt: Date;
  sourceRef: string | null;
  metadata: JsonObject;
  reverses: bigint | null;
  postings: Posting[];
}

export type RejectionCode =
  | 'floor_breach'
  | 'unknown_asset'
  | 'reversal_target_missing'
  | 'already_reversed'
  | 'reversal_mismatch';

export interface Rejection {
  code: RejectionCode;
  message: string;
  detail: JsonObject;
}

export type AppendResult =
  | { status: 'created'; entry: JournalEntry }
  /** Same key, same request: the original entry. */
  | { status: 'replayed'; entry: JournalEntry }
  /** Same key, different request. */
  | { status: 'conflict'; idempotencyKey: string; existing: 'entry' | 'rejection' }
  /** Refused; `replayed` is true when this is the recorded answer to an earlier attempt. */
  | { status: 'rejected'; rejection: Rejection; replayed: boolean };
