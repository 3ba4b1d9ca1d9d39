// Named errors with a stable code. The API maps codes to HTTP statuses (api/error-codes.ts); the CLI prints them.

/** An entry, account, asset or floor the ledger refuses as given; nothing was written. */
export class LedgerInputError extends Error {
  static readonly codes = [
    'invalid_account',
    'invalid_account_selector',
    'invalid_amount',
    'invalid_asset',
    'invalid_effective_at',
    'invalid_idempotency_key',
    'invalid_kind',
    'invalid_metadata',
    'invalid_posting',
    'invalid_postings',
    'invalid_reverses',
    'invalid_scale',
    'invalid_source_ref',
    'unknown_asset',
    'asset_conflict',
    'floor_conflict',
  ] as const;
  override name = 'LedgerInputError';
  readonly code: LedgerInputErrorCode;
  readonly field: string | undefined;
  constructor(code: LedgerInputErrorCode, message: string, field?: string) {
    super(message);
    this.code = code;
    this.field = field;
  }
}

export type LedgerInputErrorCode = (typeof LedgerInputError.codes)[number];

/** The writer's queue is full: the caller should back off and retry later. */
export class LedgerOverloadedError extends Error {
  static readonly codes = ['ledger_overloaded'] as const;
  override name = 'LedgerOverloadedError';
  readonly code = 'ledger_overloaded';
}

/** The writer was closed; no further appends are accepted. */
export class LedgerClosedError extends Error {
  static readonly codes = ['ledger_closed'] as const;
  override name = 'LedgerClosedError';
  readonly code = 'ledger_closed';
}

/**
 * An append a caller needed did not happen: the writer answered a conflict or a rejection (or
 * nothing). Retrying the same request gets the same answer, so this is a bug or a state to look
 * at, not a transient failure.
 */
export class LedgerRefusedError extends Error {
  static readonly codes = ['ledger_refused'] as const;
  override name = 'LedgerRefusedError';
  readonly code = 'ledger_refused';
  readonly idempotencyKey: string;
  constructor(idempotencyKey: string, why: string) {
    super(`the ledger refused ${idempotencyKey}: ${why}`);
    this.idempotencyKey = idempotencyKey;
  }
}
