// The one answer most writers accept from an append: its entry, made now or replayed. Every other
// answer names the idempotency key and why, as one coded error, instead of each caller spelling it.
import { LedgerRefusedError } from './errors.ts';
import type { AppendResult } from './types.ts';

/** Why an append did not make or replay its entry, for the error a caller raises. */
export function refusalReason(result: AppendResult | undefined): string {
  if (!result) return 'no answer';
  if (result.status === 'rejected') return `${result.rejection.code}: ${result.rejection.message}`;
  if (result.status === 'conflict') return `another request already holds this key (${result.existing})`;
  return result.status;
}

export type Appended = Extract<AppendResult, { status: 'created' | 'replayed' }>;

/** `result` made or replayed its entry (and narrows to that); anything else throws `LedgerRefusedError`. */
export function assertAppended(result: AppendResult | undefined, idempotencyKey: string): asserts result is Appended {
  if (result && (result.status === 'created' || result.status === 'replayed')) return;
  throw new LedgerRefusedError(idempotencyKey, refusalReason(result));
}
