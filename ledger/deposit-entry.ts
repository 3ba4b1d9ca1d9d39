// What credits and sweeps read from a `deposit.pending` entry: the indexer's metadata (who,
// which chain and address, which token contract), parsed with the entry catalogue, and its one
// posting (asset, amount).
import { entryMetadata } from './catalogue.ts';
import type { JournalEntry } from './types.ts';

export interface DepositDetails {
  userId: string;
  chain: string;
  address: string;
  /** The token contract, or null for the chain's native asset. */
  contract: string | null;
  asset: string;
  amount: bigint;
}

export function depositDetails(entry: JournalEntry): DepositDetails {
  const metadata = entryMetadata('deposit.pending', entry);
  // Money sent to an agent wallet is the wallet's; only a user's deposit is credited and swept.
  if (!('userId' in metadata)) throw new Error(`journal entry ${entry.id} is a deposit to an agent wallet, not a user's`);
  const posting = entry.postings[0]!;
  return {
    userId: metadata.userId,
    chain: metadata.chain,
    address: metadata.address,
    contract: metadata.contract ? metadata.contract : null,
    asset: posting.asset,
    amount: posting.amount,
  };
}
