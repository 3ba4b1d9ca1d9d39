// From a getBlock answer (transactionDetails "accounts": balances and account keys, no
// instructions — the cheapest form that shows who received what) to the deposit core's words.
// SOL: a positive change of an account's lamports. SPL tokens: a positive change of a token
// account's amount, attributed to the token account's OWNER (the deposit address owns its
// associated token account), only for the configured mints. Failed transactions move nothing
// but their fee and are left out.
//
// Positions, stable across re-reads of the same transaction: `<signature>:<account index>` for
// SOL, `<signature>:t<account index>` for a token account's change.
import type { SourceBlock } from '../core/index.ts';
import type { ObservedTransfer } from '../core/index.ts';

interface TokenBalance {
  accountIndex: number;
  mint: string;
  owner?: string;
  uiTokenAmount: { amount: string };
}

export interface AccountsBlock {
  blockhash: string;
  previousBlockhash: string;
  parentSlot: number;
  blockTime: number | null;
  transactions?: {
    transaction: { accountKeys: { pubkey: string }[]; signatures: string[] };
    meta: { err: unknown; preBalances: number[]; postBalances: number[]; preTokenBalances?: TokenBalance[]; postTokenBalances?: TokenBalance[] } | null;
  }[];
}

/** Accepted SPL mints: mint → asset code. */
export type TokenList = ReadonlyMap<string, string>;

export function decodeBlock(slot: number, block: AccountsBlock, tokens: TokenList): SourceBlock {
  const ref = { height: slot, hash: block.blockhash, parentHash: block.previousBlockhash, timestamp: new Date((block.blockTime ?? 0) * 1000) };
  const transfers: ObservedTransfer[] = [];
  for (const { transaction, meta } of block.transactions ?? []) {
    if (!meta || meta.err !== null) continue;
    const signature = transaction.signatures[0]!;
    const keys = transaction.accountKeys;
    for (let index = 0; index < keys.length; index += 1) {
      // Lamports up to 2^53 are exact as JSON numbers: 9 million SOL in one account.
      const received = BigInt(meta.postBalances[index]!) - BigInt(meta.preBalances[index]!);
      if (received <= 0n) continue;
      transfers.push({ block: ref, position: `${signature}:${index}`, txRef: signature, reference: { signature, accountIndex: index }, to: keys[index]!.pubkey, asset: 'SOL', contract: null, amount: received });
    }
    for (const post of meta.postTokenBalances ?? []) {
      const asset = tokens.get(post.mint);
      if (!asset || !post.owner) continue;
      const pre = meta.preTokenBalances?.find((balance) => balance.accountIndex === post.accountIndex);
      const received = BigInt(post.uiTokenAmount.amount) - BigInt(pre?.uiTokenAmount.amount ?? '0');
      if (received <= 0n) continue;
      transfers.push({
        block: ref,
        position: `${signature}:t${post.accountIndex}`,
        txRef: signature,
        reference: { signature, accountIndex: post.accountIndex, tokenAccount: keys[post.accountIndex]!.pubkey },
        to: post.owner,
        asset,
        contract: post.mint,
        amount: received,
      });
    }
  }
  return { ref, transfers };
}
