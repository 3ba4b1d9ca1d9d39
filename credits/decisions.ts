// Credit decisions as other rooms show them (a user's deposit progress on the pages and the API):
// read here because credits/ owns the table.
import { run, sqlBuilder, type Queryable } from '../infra/index.ts';

export type CreditStatus = 'credited' | 'below_minimum' | 'not_credited_reversed';
const creditStatuses: readonly string[] = ['credited', 'below_minimum', 'not_credited_reversed'] satisfies CreditStatus[];

export interface DepositCredit {
  status: CreditStatus;
  /** CHOCO minor units (scale `chocoScale`), when credited. */
  choco: bigint | null;
  reason: string | null;
  decidedAt: Date;
  /** The `credit.issued` entry; null when nothing was credited. */
  creditEntryId: bigint | null;
  /** The entry that took the credit back, when a reorg or rewind did. */
  reversalEntryId: bigint | null;
}

const isCreditStatus = (status: string): status is CreditStatus => creditStatuses.includes(status);

/** The credit decision of each given deposit entry that has one. */
export async function creditDecisions(db: Queryable, depositEntryIds: readonly bigint[]): Promise<Map<bigint, DepositCredit>> {
  if (depositEntryIds.length === 0) return new Map();
  const rows = await run(
    db,
    sqlBuilder.selectFrom('credit_decisions').select(['deposit_entry_id', 'status', 'choco', 'reason', 'decided_at', 'credit_entry_id', 'reversal_entry_id']).where('deposit_entry_id', 'in', [...depositEntryIds]),
  );
  const decisions = new Map<bigint, DepositCredit>();
  for (const row of rows) {
    // The table's CHECK allows exactly these statuses.
    if (!isCreditStatus(row.status)) throw new Error(`credit decision of deposit ${row.deposit_entry_id} has an unknown status ${row.status}`);
    decisions.set(row.deposit_entry_id, { status: row.status, choco: row.choco === null ? null : BigInt(row.choco), reason: row.reason, decidedAt: row.decided_at, creditEntryId: row.credit_entry_id, reversalEntryId: row.reversal_entry_id });
  }
  return decisions;
}
