// The ledger's words for a deposit, shared by every indexer (reorgs) and rewind (deep reorgs),
// so all of them name the same accounts and write the same keys.
import { chart, depositEntryKinds, type AppendRequest, type JsonObject } from '../../ledger/index.ts';

/** `<chain>:<position>`; each entry appends `:<kind>@<blockhash>` (ADR 0003). */
export function depositKeyBase(chain: string, position: string): string {
  return `${chain}:${position}`;
}

/** A user's deposit moves pending → custody; money sent to an agent wallet, pending → available. */
export function depositAccounts(chain: string, address: string, walletId?: string | null): { pending: string; custody: string } {
  if (walletId) return { pending: chart.wallet(walletId, 'pending'), custody: chart.wallet(walletId, 'available') };
  return { pending: chart.depositPending(chain, address), custody: chart.custody(chain, address) };
}

/** The reversal of a pending deposit entry: the amount goes back to the outside world. */
export function depositReversal(options: {
  chain: string;
  keyBase: string;
  blockHash: string;
  depositEntryId: bigint;
  pendingAccount: string;
  asset: string;
  amount: bigint;
  metadata: JsonObject;
}): AppendRequest {
  return {
    kind: depositEntryKinds.reversal,
    idempotencyKey: `${options.keyBase}:reversal@${options.blockHash}`,
    reverses: options.depositEntryId,
    sourceRef: options.keyBase,
    metadata: options.metadata,
    postings: [{ source: options.pendingAccount, destination: chart.world(options.chain), asset: options.asset, amount: options.amount }],
  };
}
