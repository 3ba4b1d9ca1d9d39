// What became of deposits after the indexer booked them: the credit decision and the sweep of
// each (a user's deposit history), and the sweeps an operator watches (in flight, failed).
import type { AlertCondition, Queryable } from '../infra/index.ts';

export type SweepStatus = 'waiting_for_gas' | 'submitted' | 'confirmed' | 'failed' | 'skipped';
export type CreditStatus = 'credited' | 'below_minimum' | 'not_credited_reversed';

export interface DepositCredit {
  status: CreditStatus;
  /** CHOCO minor units (scale `chocoScale`), when credited. */
  choco: bigint | null;
  reason: string | null;
  decidedAt: Date;
}

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
}

export const sweepListLimitMax = 500;

interface SweepRow {
  id: bigint;
  deposit_entry_id: bigint;
  user_id: string;
  chain: string;
  address: string;
  asset: string;
  amount: string | null;
  fee: string | null;
  status: SweepStatus;
  reason: string | null;
  tx_hash: string | null;
  attempts: number;
  updated_at: Date;
}
const sweepColumns = 'id, deposit_entry_id, user_id, chain, address, asset, amount::text, fee::text, status, reason, tx_hash, attempts, updated_at';
const toSweep = (r: SweepRow): SweepView => ({
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
});

/** Credit and sweep of each given deposit entry (either may be missing: not decided, not swept). */
export async function depositProgress(db: Queryable, depositEntryIds: readonly bigint[]): Promise<Map<bigint, { credit: DepositCredit | null; sweep: SweepView | null }>> {
  const ids = depositEntryIds.map(String);
  const [credits, sweeps] = await Promise.all([
    db.query<{ deposit_entry_id: bigint; status: CreditStatus; choco: string | null; reason: string | null; decided_at: Date }>(
      'SELECT deposit_entry_id, status, choco::text, reason, decided_at FROM credit_decisions WHERE deposit_entry_id = ANY($1::bigint[])',
      [ids],
    ),
    db.query<SweepRow>(`SELECT ${sweepColumns} FROM sweeps WHERE deposit_entry_id = ANY($1::bigint[])`, [ids]),
  ]);
  const progress = new Map<bigint, { credit: DepositCredit | null; sweep: SweepView | null }>(depositEntryIds.map((id) => [id, { credit: null, sweep: null }]));
  for (const c of credits.rows) {
    progress.get(c.deposit_entry_id)!.credit = { status: c.status, choco: c.choco === null ? null : BigInt(c.choco), reason: c.reason, decidedAt: c.decided_at };
  }
  for (const s of sweeps.rows) progress.get(s.deposit_entry_id)!.sweep = toSweep(s);
  return progress;
}

/** Sweeps in the given states, most recently changed first. */
export async function listSweeps(db: Queryable, options: { statuses: readonly SweepStatus[]; limit: number }): Promise<SweepView[]> {
  if (!Number.isInteger(options.limit) || options.limit < 1 || options.limit > sweepListLimitMax) throw new RangeError(`limit must be 1–${sweepListLimitMax}`);
  const { rows } = await db.query<SweepRow>(`SELECT ${sweepColumns} FROM sweeps WHERE status = ANY($1::text[]) ORDER BY updated_at DESC, id DESC LIMIT $2`, [
    options.statuses,
    options.limit,
  ]);
  return rows.map(toSweep);
}

/** Sweeps that failed for good in the last day, as alert conditions (one per sweep: it fires once). */
export async function failedSweepConditions(db: Queryable): Promise<AlertCondition[]> {
  const { rows } = await db.query<{ id: string; chain: string; address: string; reason: string | null; tx_hash: string | null }>(
    `SELECT id::text, chain, address, reason, tx_hash FROM sweeps WHERE status = 'failed' AND updated_at > now() - interval '1 day' ORDER BY id`,
  );
  return rows.map((row) => ({ subject: row.id, detail: { chain: row.chain, address: row.address, reason: row.reason, txHash: row.tx_hash } }));
}
