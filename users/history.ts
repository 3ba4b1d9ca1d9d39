// One deposit's history, for its user and for auditors: seen on chain → confirmed → credited (or
// not, and why) → swept, each step with its amount, the rate or price used, and its transaction.
// Read straight from the journal and the decision tables (not the asynchronous deposit view), so
// it is never behind; works the same on every chain.
import type { Queryable } from '../infra/index.ts';

export type DepositStepKind = 'deposit' | 'confirmed' | 'reversed' | 'credited' | 'not_credited' | 'credit_reversed' | 'sweep';

export interface DepositStep {
  step: DepositStepKind;
  at: Date;
  /** The journal entry that booked the step; null for a decision that booked nothing or a sweep not yet submitted. */
  entryId: bigint | null;
  asset: string;
  scale: number;
  amount: bigint | null;
  /** The chain transaction (deposit, sweep); null where there is none. */
  txHash: string | null;
  /** credited: `choco` (fixed CHOCO per unit), `usd` (fixed USD per unit) or `pyth`. */
  pricing: string | null;
  /** The fixed rate as configured (`5000`), or the Pyth price as `price×10^expo`. */
  rate: string | null;
  /** not_credited, sweep failed or skipped: why. */
  reason: string | null;
  /** sweep: waiting_for_gas, submitted, confirmed, failed or skipped. */
  status: string | null;
  /** sweep: the fee paid, in the chain's fee asset. */
  fee: bigint | null;
}

export interface DepositHistory {
  entryId: bigint;
  chain: string;
  address: string;
  asset: string;
  scale: number;
  amount: bigint;
  txHash: string | null;
  steps: DepositStep[];
}

interface EntryRow {
  id: bigint;
  idempotency_key: string;
  effective_at: Date;
  inserted_at: Date;
  source_ref: string | null;
  metadata: Record<string, unknown>;
  amount: string;
  asset: string;
  scale: number;
}

const entrySelect = `SELECT e.id, e.idempotency_key, e.source_ref, e.effective_at, e.inserted_at, e.metadata, p.amount::text, s.code AS asset, s.scale
  FROM journal_entries e JOIN postings p ON p.entry_id = e.id AND p.posting_index = 0 JOIN assets s ON s.id = p.asset_id`;

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

/** The history of deposit `entryId` if it is `userId`'s, else null. */
export async function getDepositHistory(db: Queryable, userId: string, entryId: bigint): Promise<DepositHistory | null> {
  const { rows } = await db.query<EntryRow>(`${entrySelect} WHERE e.id = $1 AND e.kind = 'deposit.pending' AND e.metadata->>'userId' = $2`, [entryId.toString(), userId]);
  const deposit = rows[0];
  if (!deposit) return null;
  const base = { asset: deposit.asset, scale: deposit.scale, pricing: null, rate: null, reason: null, status: null, fee: null };
  // Every indexer names the transaction in `txHash` and as the entry's source reference.
  const txHash = text(deposit.metadata.txHash) ?? deposit.source_ref;
  const steps: DepositStep[] = [{ ...base, step: 'deposit', at: deposit.effective_at, entryId: deposit.id, amount: BigInt(deposit.amount), txHash }];

  // The deposit's later entries have keys derived from its own (ADR 0003): `<base>:<kind>@<block>`.
  const at = deposit.idempotency_key.lastIndexOf(':deposit@');
  const keyOf = (kind: string) => `${deposit.idempotency_key.slice(0, at)}:${kind}@${deposit.idempotency_key.slice(at + ':deposit@'.length)}`;
  const { rows: settled } = await db.query<EntryRow & { kind: string }>(`${entrySelect.replace('SELECT e.id', 'SELECT e.kind, e.id')} WHERE e.idempotency_key = ANY($1::text[]) ORDER BY e.id`, [
    [keyOf('confirm'), keyOf('reversal'), keyOf('confirm-reversal')],
  ]);
  for (const row of settled) {
    steps.push({ ...base, step: row.kind === 'deposit.confirmed' ? 'confirmed' : 'reversed', at: row.inserted_at, entryId: row.id, amount: BigInt(row.amount), txHash: null });
  }

  const { rows: decisions } = await db.query<{ status: string; reason: string | null; choco: string | null; credit_entry_id: bigint | null; reversal_entry_id: bigint | null; decided_at: Date }>(
    'SELECT status, reason, choco::text, credit_entry_id, reversal_entry_id, decided_at FROM credit_decisions WHERE deposit_entry_id = $1',
    [entryId.toString()],
  );
  const decision = decisions[0];
  if (decision) {
    const credit = decision.credit_entry_id === null ? undefined : (await db.query<EntryRow>(`${entrySelect} WHERE e.id = $1`, [decision.credit_entry_id.toString()])).rows[0];
    const metadata = credit?.metadata ?? {};
    const pythRate = typeof metadata.price === 'string' && typeof metadata.expo === 'number' ? `${metadata.price}e${metadata.expo}` : null;
    steps.push({
      step: decision.status === 'credited' ? 'credited' : 'not_credited',
      at: decision.decided_at,
      entryId: decision.credit_entry_id,
      asset: 'CHOCO',
      scale: credit?.scale ?? 18,
      amount: decision.choco === null || decision.status !== 'credited' ? null : BigInt(decision.choco),
      txHash: null,
      pricing: text(metadata.pricing),
      rate: text(metadata.rate) ?? pythRate,
      reason: decision.reason,
      status: null,
      fee: null,
    });
    if (decision.reversal_entry_id !== null) {
      steps.push({ ...base, step: 'credit_reversed', at: decision.decided_at, entryId: decision.reversal_entry_id, asset: 'CHOCO', scale: credit?.scale ?? 18, amount: null, txHash: null });
    }
  }

  const { rows: sweeps } = await db.query<{ status: string; reason: string | null; amount: string | null; fee: string | null; tx_hash: string | null; submitted_entry_id: bigint | null; settled_entry_id: bigint | null; updated_at: Date }>(
    'SELECT status, reason, amount::text, fee::text, tx_hash, submitted_entry_id, settled_entry_id, updated_at FROM sweeps WHERE deposit_entry_id = $1',
    [entryId.toString()],
  );
  const sweep = sweeps[0];
  if (sweep) {
    steps.push({
      ...base,
      step: 'sweep',
      at: sweep.updated_at,
      entryId: sweep.settled_entry_id ?? sweep.submitted_entry_id,
      amount: sweep.amount === null ? null : BigInt(sweep.amount),
      txHash: sweep.tx_hash,
      reason: sweep.reason,
      status: sweep.status,
      fee: sweep.fee === null ? null : BigInt(sweep.fee),
    });
  }
  return { entryId: deposit.id, chain: text(deposit.metadata.chain) ?? '', address: text(deposit.metadata.address) ?? '', asset: deposit.asset, scale: deposit.scale, amount: BigInt(deposit.amount), txHash, steps };
}
