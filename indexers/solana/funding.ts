// Money an operator sends to the Solana fee payer, booked from the chain: world:solana →
// operations:solana:fee-payer. Sweeps book their fees and rent against that account, so without
// its funding the ledger would hold less SOL there than the chain. Read at `finalized`, keyed by
// the signature: recording the same transaction twice is one entry.
import { CodedError } from '../../infra/index.ts';
import type { LedgerWriter } from '../../ledger/index.ts';
import { chart, assertAppended } from '../../ledger/index.ts';
import type { SolanaRpc } from './rpc.ts';

export const feePayerAccount = chart.operations('solana', 'fee-payer');

interface FinalizedTransaction {
  slot: number;
  transaction: { message: { accountKeys: string[] } };
  meta: { err: unknown; preBalances: number[]; postBalances: number[] } | null;
}

const fundingErrorCodes = [
  // Not (yet) a finalized successful transaction: ask again once it is finalized, or it failed.
  'funding_not_finalized',
  // A finalized transaction that pays the fee payer nothing: the wrong signature.
  'not_a_fee_payer_funding',
] as const;

export class SolanaFundingError extends CodedError<(typeof fundingErrorCodes)[number]> {
  static readonly codes = fundingErrorCodes;
  override name = 'SolanaFundingError';
}

export async function recordSolanaFeePayerFunding(ctx: { writer: LedgerWriter; rpc: SolanaRpc; feePayer: string }, signature: string): Promise<{ lamports: bigint; entryId: bigint }> {
  const landed = await ctx.rpc<FinalizedTransaction | null>('getTransaction', [signature, { commitment: 'finalized', encoding: 'json', maxSupportedTransactionVersion: 0 }]);
  if (!landed?.meta || landed.meta.err !== null) throw new SolanaFundingError('funding_not_finalized', `${signature} is not a successful finalized transaction on this chain`);
  const index = landed.transaction.message.accountKeys.indexOf(ctx.feePayer);
  const lamports = index < 0 ? 0n : BigInt(landed.meta.postBalances[index]!) - BigInt(landed.meta.preBalances[index]!);
  if (lamports <= 0n) throw new SolanaFundingError('not_a_fee_payer_funding', `${signature} does not send SOL to the fee payer ${ctx.feePayer}`);
  const key = `solana:${signature}:fee-payer.funded`;
  const result = await ctx.writer.append({
    kind: 'operations.funded',
    idempotencyKey: key,
    sourceRef: signature,
    metadata: { signature, feePayer: ctx.feePayer, slot: String(landed.slot) },
    postings: [{ source: chart.world('solana'), destination: feePayerAccount, asset: 'SOL', amount: lamports }],
  });
  assertAppended(result, key);
  return { lamports, entryId: result.entry.id };
}
