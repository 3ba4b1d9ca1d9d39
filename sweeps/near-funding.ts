// NEAR an operator sends to coffer's NEAR hot account (COFFER_NEAR_ACCOUNT), booked from the
// chain: world:near → treasury:near:hot, kind `treasury.funded` as on EVM. Signing refills and
// storage deposits are paid from that account, so without its funding the ledger would hold less
// NEAR there than the chain. Read at `final`, keyed by the transaction hash: recording the same
// transaction twice is one entry. Only a direct Transfer to the hot account counts (not NEAR
// forwarded by a contract).
import { CodedError } from '../infra/index.ts';
import { finalOutcome, nearRpc, outcomeSucceeded, type FinalOutcomeView } from '../chains/index.ts';
import { chart, relayEntryKinds, type LedgerWriter, assertAppended } from '../ledger/index.ts';
import { nearChain, nearHotAccount } from './near-operations.ts';

/** The parts of nearcore's final `tx` answer this reads: who sent what to whom. */
interface FundingOutcome extends FinalOutcomeView {
  transaction?: { signer_id: string; receiver_id: string; actions: (string | { Transfer?: { deposit: string } })[] };
}

const fundingErrorCodes = [
  // Not (yet) a final successful transaction: ask again once it is final, or it failed.
  'funding_not_final',
  // A final transaction that moves no NEAR to the hot account: the wrong hash.
  'not_a_funding',
] as const;

export class NearFundingError extends CodedError<(typeof fundingErrorCodes)[number]> {
  static readonly codes = fundingErrorCodes;
  override name = 'NearFundingError';
}

export async function recordNearHotFunding(ctx: { writer: LedgerWriter; rpcUrl: string; hotAccount: string }, txHash: string, sender: string): Promise<{ yocto: bigint; entryId: bigint }> {
  const rpc = nearRpc(ctx.rpcUrl);
  const outcome: FundingOutcome | null = await finalOutcome(rpc, txHash, sender);
  if (!outcome?.transaction || !outcomeSucceeded(outcome)) throw new NearFundingError('funding_not_final', `${txHash} (from ${sender}) is not a successful final transaction on this chain`);
  const { transaction } = outcome;
  const yocto =
    transaction.receiver_id === ctx.hotAccount
      ? transaction.actions.reduce((sum, action) => sum + (typeof action === 'object' && action.Transfer ? BigInt(action.Transfer.deposit) : 0n), 0n)
      : 0n;
  if (yocto <= 0n) throw new NearFundingError('not_a_funding', `${txHash} does not transfer NEAR to coffer's hot account ${ctx.hotAccount}`);
  const block = await rpc.call<{ header: { height: number } }>('block', { block_id: outcome.transaction_outcome.block_hash });
  const key = `near:${txHash}:treasury.funded`;
  const result = await ctx.writer.append({
    kind: relayEntryKinds.treasuryFunded,
    idempotencyKey: key,
    sourceRef: txHash,
    metadata: { hash: txHash, from: transaction.signer_id, blockNumber: String(block.header.height) },
    postings: [{ source: chart.world(nearChain), destination: nearHotAccount, asset: 'NEAR', amount: yocto }],
  });
  assertAppended(result, key);
  return { yocto, entryId: result.entry.id };
}
