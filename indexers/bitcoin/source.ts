// The Bitcoin `BlockSource` the chain-neutral `ChainFollower` reads: raw blocks over Core's
// JSON-RPC (bcoin speaks it too), parsed with chains/bitcoin, each output matched against the
// watched deposit addresses by scriptPubKey. The script is the truth: bcoin's regtest spells
// the address `rb1…`, Core's `bcrt1…`, and coffer stores the spelling of BITCOIN_NETWORK; all
// three are one script.
//
// Finality: a deposit is confirmed once it has `finalityDepth` confirmations, its own block
// counted (Bitcoin's convention: "6 confirmations" is the block and five on top), so the
// finalized height is head − depth + 1. Sweeps count confirmations the same way.
//
// Coinbase outputs are not deposits: they cannot be spent for 100 blocks, so crediting them at
// depth 6 would book custody the sweep cannot move.
import { BitcoinRpcError, parseBlock, type BitcoinRpc } from '../../chains/index.ts';
import type { BlockSource, ObservedTransfer, SourceBlock } from '../core/index.ts';
import type { WatchedScripts } from './watched.ts';

export const bitcoinNativeAsset = 'BTC';

/** Raw blocks fetched at once: enough to hide the round trip, few enough to bound memory (a block is ≤ 8 MB of hex). With the prefetch, at most two batches are held. */
const fetchConcurrencyMax = 4;

export interface BitcoinSourceOptions {
  rpc: BitcoinRpc;
  finalityDepth: number;
  /** The watched scripts; null reads and parses every block but matches nothing (the bench's bare loop). */
  watched: WatchedScripts | null;
}

export function bitcoinBlockSource(options: BitcoinSourceOptions): BlockSource {
  const { rpc, finalityDepth, watched } = options;

  async function hashAt(height: number): Promise<string | null> {
    if (height < 0) return null;
    try {
      return await rpc.getBlockHash(height);
    } catch (error) {
      // Past the tip both nodes answer an RPC error (Core -8, bcoin -1); anything else is real.
      if (error instanceof BitcoinRpcError && height > (await rpc.getBlockCount())) return null;
      throw error;
    }
  }

  async function readBlock(height: number, scripts: ReadonlyMap<string, string> | null): Promise<SourceBlock | null> {
    const hash = await hashAt(height);
    if (hash === null) return null;
    const block = parseBlock({ hex: await rpc.getRawBlock(hash), height, expectedHash: hash });
    const ref = { height, hash: block.hash, timestamp: new Date(block.timeSeconds * 1000), parentHash: block.previousHash };
    const transfers: ObservedTransfer[] = [];
    if (scripts && scripts.size > 0) {
      for (const transaction of block.transactions) {
        if (transaction.isCoinbase) continue;
        for (const output of transaction.outputs) {
          const address = scripts.get(output.scriptHex);
          if (address === undefined) continue;
          transfers.push({
            block: ref,
            position: `${transaction.txid}:${output.vout}`,
            txRef: transaction.txid,
            // `txHash` is the name the deposit view and the API read, on every chain.
            reference: { txHash: transaction.txid, vout: output.vout },
            to: address,
            asset: bitcoinNativeAsset,
            contract: null,
            amount: output.valueSat,
          });
        }
      }
    }
    return { ref, transfers };
  }

  async function readRange(after: number, through: number): Promise<SourceBlock[]> {
    const scripts = watched ? await watched.current() : null;
    const blocks: SourceBlock[] = [];
    for (let from = after + 1; from <= through; from += fetchConcurrencyMax) {
      const heights = Array.from({ length: Math.min(fetchConcurrencyMax, through - from + 1) }, (_, i) => from + i);
      const read = await Promise.all(heights.map((height) => readBlock(height, scripts)));
      for (const block of read) if (block) blocks.push(block);
    }
    return blocks;
  }

  let prefetched: { after: number; through: number; blocks: Promise<SourceBlock[]> } | null = null;
  /** The head as last read: a prefetch never reaches past it (blocks not there yet would be missing from it). */
  let knownHead = -1;

  return {
    async heads() {
      const head = await rpc.getBlockCount();
      knownHead = head;
      return { head, finalized: head - finalityDepth + 1 };
    },
    hashAt,
    async blocks(after, through) {
      // The next range is read while the caller writes this one; a prefetch serves one call
      // only, so a caller that retries after a reorg reads afresh.
      const ahead = prefetched;
      prefetched = null;
      const blocks = ahead && ahead.after === after && ahead.through === through ? await ahead.blocks : await readRange(after, through);
      const span = through - after;
      if (through + span <= knownHead) {
        const next = { after: through, through: through + span, blocks: readRange(through, through + span) };
        // A failed prefetch is not this call's error; the next call reads again.
        next.blocks.catch(() => undefined);
        prefetched = next;
      }
      return blocks;
    },
  };
}
