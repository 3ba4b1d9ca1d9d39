// Solana as a `BlockSource` for the chain follower (indexers/core/follow.ts): slots are heights,
// skipped slots are left out, the head is the newest `confirmed` block and finality is the
// chain's own `finalized` commitment (no depth of ours). A block's hash is its blockhash.
import type { BlockSource, SourceBlock } from '../core/index.ts';
import { decodeBlock, type AccountsBlock, type TokenList } from './decode.ts';
import { noBlockCodes, SolanaRpcError, type SolanaRpc } from './rpc.ts';

/** Blocks fetched at once: enough to keep a remote node busy, few enough to bound memory. */
const concurrentFetchesMax = 8;

/** The cheapest `getBlock` form that shows who received what: balances and account keys, no instructions. */
export const blockOptions = { commitment: 'confirmed', encoding: 'json', transactionDetails: 'accounts', rewards: false, maxSupportedTransactionVersion: 0 } as const;

export class SolanaBlockSource implements BlockSource {
  readonly #rpc: SolanaRpc;
  readonly #tokens: TokenList;

  constructor(options: { rpc: SolanaRpc; tokens: TokenList }) {
    this.#rpc = options.rpc;
    this.#tokens = options.tokens;
  }

  async heads(): Promise<{ head: number; finalized: number }> {
    const [head, finalized] = await Promise.all([this.#rpc<number>('getSlot', [{ commitment: 'confirmed' }]), this.#rpc<number>('getSlot', [{ commitment: 'finalized' }])]);
    return { head, finalized };
  }

  async hashAt(height: number): Promise<string | null> {
    const block = await this.#block<{ blockhash: string }>(height, { commitment: 'confirmed', transactionDetails: 'none', rewards: false });
    return block?.blockhash ?? null;
  }

  async blocks(after: number, through: number): Promise<SourceBlock[]> {
    const slots = await this.#rpc<number[]>('getBlocks', [after + 1, through, { commitment: 'confirmed' }]);
    const blocks: SourceBlock[] = [];
    for (let start = 0; start < slots.length; start += concurrentFetchesMax) {
      const chunk = slots.slice(start, start + concurrentFetchesMax);
      const read = await Promise.all(chunk.map((slot) => this.#block<AccountsBlock>(slot, blockOptions)));
      // A slot listed a moment ago and gone now was dropped by a fork: leave it out; the
      // follower sees the parent link break or the hash change on its next pass.
      read.forEach((block, index) => {
        if (block) blocks.push(decodeBlock(chunk[index]!, block, this.#tokens));
      });
    }
    return blocks;
  }

  async #block<T>(slot: number, options: Record<string, unknown>): Promise<T | null> {
    try {
      return await this.#rpc<T>('getBlock', [slot, options]);
    } catch (error) {
      if (error instanceof SolanaRpcError && error.code === 'solana_rpc_error' && noBlockCodes.has(error.rpcCode)) return null;
      throw error;
    }
  }
}
