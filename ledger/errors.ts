// Named errors with a stable code. The API maps codes to HTTP statuses; the CLI prints them.

export class LedgerInputError extends Error {
  override name = 'LedgerInputError';
  readonly code: string;
  readonly field: string | undefined;
  constructor(code: string, message: string, field?: string) {
    super(message);
    this.code = code;
    this.field = field;
  }
}

/** The writer's queue is full: the caller should back off and retry later. */
export class LedgerOverloadedError extends Error {
  override name = 'LedgerOverloadedError';
  readonly code = 'ledger_overloaded';
}

/** The writer was closed; no further appends are accepted. */
export class LedgerClosedError extends Error {
  override name = 'LedgerClosedError';
  readonly code = 'ledger_closed';
}
