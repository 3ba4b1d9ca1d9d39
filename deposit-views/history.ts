// One deposit's history, for its user and for auditors: seen on chain → confirmed → credited (or
// not, and why) → swept, each step with its amount, the rate or price used, and its transaction.
// Read straight from the journal (ledger/), the credit decision (credits/, through sweeps/'
// progress) and the sweep (sweeps/) — not the asynchronous deposit view — so it is never behind;
// works the same on every chain.
import type { Queryable } from '../infra/index.ts';
import { depositEntryKinds, getAsset, getEntriesByIdempotencyKeys, getEntry, type JournalEntry } from '../ledger/index.ts';
import { depositProgress } from '../sweeps/index.ts';

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
  /** The block (slot, height) the indexer saw it in. */
  blockHeight: number | null;
  steps: DepositStep[];
}

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

/** CHOCO's scale when the credit entry is not there to say (the first migration registers it at 18). */
const chocoScaleDefault = 18;

/** What an entry's first posting moves: a deposit entry's one posting, a credit's CHOCO. */
function firstPosting(entry: JournalEntry): { asset: string; amount: bigint } {
  const posting = entry.postings[0];
  // The writer refuses an entry without postings.
  if (!posting) throw new Error(`journal entry ${entry.id} has no postings`);
  return { asset: posting.asset, amount: posting.amount };
}

/** The scale of an asset a posting moved (a posting's asset is always registered). */
async function scaleOf(db: Queryable, code: string): Promise<number> {
  const asset = await getAsset(db, code);
  if (!asset) throw new Error(`asset ${code} of a journal posting is not registered`);
  return asset.scale;
}

/** The history of deposit `entryId` if it is `userId`'s, else null. */
export async function getDepositHistory(db: Queryable, userId: string, entryId: bigint): Promise<DepositHistory | null> {
  const deposit = await getEntry(db, entryId);
  if (!deposit || deposit.kind !== depositEntryKinds.pending || deposit.metadata.userId !== userId) return null;
  const moved = firstPosting(deposit);
  const scale = await scaleOf(db, moved.asset);
  const base = { asset: moved.asset, scale, pricing: null, rate: null, reason: null, status: null, fee: null };
  // Every indexer names the transaction in `txHash` and as the entry's source reference.
  const txHash = text(deposit.metadata.txHash) ?? deposit.sourceRef;
  const steps: DepositStep[] = [{ ...base, step: 'deposit', at: deposit.effectiveAt, entryId: deposit.id, amount: moved.amount, txHash }];

  // The deposit's later entries have keys derived from its own (ADR 0003): `<base>:<kind>@<block>`.
  const key = deposit.idempotencyKey;
  const at = key.lastIndexOf(':deposit@');
  const keyOf = (kind: string) => `${key.slice(0, at)}:${kind}@${key.slice(at + ':deposit@'.length)}`;
  for (const settled of await getEntriesByIdempotencyKeys(db, [keyOf('confirm'), keyOf('reversal'), keyOf('confirm-reversal')])) {
    steps.push({ ...base, step: settled.kind === depositEntryKinds.confirmed ? 'confirmed' : 'reversed', at: settled.insertedAt, entryId: settled.id, amount: firstPosting(settled).amount, txHash: null });
  }

  const { credit: decision, sweep } = (await depositProgress(db, [entryId])).get(entryId) ?? { credit: null, sweep: null };
  if (decision) {
    const credit = decision.creditEntryId === null ? null : await getEntry(db, decision.creditEntryId);
    const creditScale = credit ? await scaleOf(db, firstPosting(credit).asset) : chocoScaleDefault;
    const metadata = credit?.metadata ?? {};
    const pythRate = typeof metadata.price === 'string' && typeof metadata.expo === 'number' ? `${metadata.price}e${metadata.expo}` : null;
    steps.push({
      step: decision.status === 'credited' ? 'credited' : 'not_credited',
      at: decision.decidedAt,
      entryId: decision.creditEntryId,
      asset: 'CHOCO',
      scale: creditScale,
      amount: decision.choco === null || decision.status !== 'credited' ? null : decision.choco,
      txHash: null,
      pricing: text(metadata.pricing),
      rate: text(metadata.rate) ?? pythRate,
      reason: decision.reason,
      status: null,
      fee: null,
    });
    if (decision.reversalEntryId !== null) {
      steps.push({ ...base, step: 'credit_reversed', at: decision.decidedAt, entryId: decision.reversalEntryId, asset: 'CHOCO', scale: creditScale, amount: null, txHash: null });
    }
  }

  if (sweep) {
    steps.push({
      ...base,
      step: 'sweep',
      at: sweep.updatedAt,
      entryId: sweep.settledEntryId ?? sweep.submittedEntryId,
      amount: sweep.amount,
      txHash: sweep.txHash,
      reason: sweep.reason,
      status: sweep.status,
      fee: sweep.fee,
    });
  }
  return { entryId: deposit.id, chain: text(deposit.metadata.chain) ?? '', address: text(deposit.metadata.address) ?? '', asset: moved.asset, scale, amount: moved.amount, txHash, blockHeight: typeof deposit.metadata.blockHeight === 'number' ? deposit.metadata.blockHeight : null, steps };
}
