// What became of deposits after the indexer booked them: the credit decision and the sweep of
// each (a user's deposit history), and the sweeps an operator watches (in flight, failed).
import { creditDecisions, type DepositCredit } from '../credits/index.ts';
import { run, sql, sqlBuilder, type AlertCondition, type Queryable } from '../infra/index.ts';

export type { CreditStatus, DepositCredit } from '../credits/index.ts';
export type SweepStatus = 'waiting_for_gas' | 'submitted' | 'confirmed' | 'failed' | 'skipped';
const sweepStatuses: readonly string[] = ['waiting_for_gas', 'submitted', 'confirmed', 'failed', 'skipped'] satisfies SweepStatus[];
const isSweepStatus = (status: string): status is SweepStatus => sweepStatuses.includes(status);

export interface SweepView {
  id: bigint;
  depositEntryId: bigint;
  userId: string;
  chain: string;
  address: string;
  asset: string;
  amount: bigint | null;
  fee: bigint | null;
  status: SweepStatus;
  reason: string | null;
  txHash: string | null;
  attempts: number;
  updatedAt: Date;
  /** The `sweep.submitted` entry, once signed and committed. */
  submittedEntryId: bigint | null;
  /** The entry that closed it: `sweep.confirmed` or `sweep.failed`. */
  settledEntryId: bigint | null;
}

export const sweepListLimitMax = 500;

const sweepsView = sqlBuilder
  .selectFrom('sweeps')
  .select(['id', 'deposit_entry_id', 'user_id', 'chain', 'address', 'asset', 'amount', 'fee', 'status', 'reason', 'tx_hash', 'attempts', 'updated_at', 'submitted_entry_id', 'settled_entry_id']);
type SweepRow = Awaited<ReturnType<typeof run<typeof sweepsView>>>[number];

function toSweep(r: SweepRow): SweepView {
  // The table's CHECK allows exactly these statuses.
  if (!isSweepStatus(r.status)) throw new Error(`sweep ${r.id} has an unknown status ${r.status}`);
  return {
    id: r.id,
    depositEntryId: r.deposit_entry_id,
    userId: r.user_id,
    chain: r.chain,
    address: r.address,
    asset: r.asset,
    amount: r.amount === null ? null : BigInt(r.amount),
    fee: r.fee === null ? null : BigInt(r.fee),
    status: r.status,
    reason: r.reason,
    txHash: r.tx_hash,
    attempts: r.attempts,
    updatedAt: r.updated_at,
    submittedEntryId: r.submitted_entry_id,
    settledEntryId: r.settled_entry_id,
  };
}

/** Credit and sweep of each given deposit entry (either may be missing: not decided, not swept). */
export async function depositProgress(db: Queryable, depositEntryIds: readonly bigint[]): Promise<Map<bigint, { credit: DepositCredit | null; sweep: SweepView | null }>> {
  if (depositEntryIds.length === 0) return new Map();
  const [credits, sweeps] = await Promise.all([creditDecisions(db, depositEntryIds), run(db, sweepsView.where('deposit_entry_id', 'in', [...depositEntryIds]))]);
  const sweepOf = new Map(sweeps.map((s) => [s.deposit_entry_id, toSweep(s)]));
  return new Map(depositEntryIds.map((id) => [id, { credit: credits.get(id) ?? null, sweep: sweepOf.get(id) ?? null }]));
}

/** Sweeps in the given states, most recently changed first. */
export async function listSweeps(db: Queryable, options: { statuses: readonly SweepStatus[]; limit: number }): Promise<SweepView[]> {
  if (!Number.isInteger(options.limit) || options.limit < 1 || options.limit > sweepListLimitMax) throw new RangeError(`limit must be 1–${sweepListLimitMax}`);
  if (options.statuses.length === 0) return [];
  const rows = await run(db, sweepsView.where('status', 'in', [...options.statuses]).orderBy('updated_at', 'desc').orderBy('id', 'desc').limit(options.limit));
  return rows.map(toSweep);
}

/** Sweeps that failed for good in the last day, as alert conditions (one per sweep: it fires once). */
export async function failedSweepConditions(db: Queryable): Promise<AlertCondition[]> {
  const rows = await run(
    db,
    sqlBuilder
      .selectFrom('sweeps')
      .select(['id', 'chain', 'address', 'reason', 'tx_hash'])
      .where('status', '=', 'failed')
      .where('updated_at', '>', sql<Date>`now() - interval '1 day'`)
      .orderBy('id'),
  );
  return rows.map((row) => ({ subject: row.id.toString(), detail: { chain: row.chain, address: row.address, reason: row.reason, txHash: row.tx_hash } }));
}
