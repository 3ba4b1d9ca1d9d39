// What credits and sweeps read from a `deposit.pending` entry: the indexer's metadata (who,
// which chain and address, which token contract) and its one posting (asset, amount).
import type { JournalEntry } from '../ledger/index.ts';

export interface DepositDetails {
  userId: string;
  chain: string;
  address: string;
  /** The token contract, or null for the chain's native asset. */
  contract: string | null;
  asset: string;
  amount: bigint;
}

function text(entry: JournalEntry, key: string): string {
  const value = entry.metadata[key];
  if (typeof value !== 'string' || value === '') throw new Error(`journal entry ${entry.id} has no ${key} in its metadata`);
  return value;
}

export function depositDetails(entry: JournalEntry): DepositDetails {
  const posting = entry.postings[0]!;
  const contract = entry.metadata.contract;
  return {
    userId: text(entry, 'userId'),
    chain: text(entry, 'chain'),
    address: text(entry, 'address'),
    contract: typeof contract === 'string' && contract !== '' ? contract : null,
    asset: posting.asset,
    amount: posting.amount,
  };
}
