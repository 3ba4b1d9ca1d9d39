// Raw blocks, parsed with bitcoinjs-lib. The indexer reads `getblock <hash> 0` rather than the
// verbose JSON because the serialized block is the one format Bitcoin Core, bcoin and Esplora
// agree on byte for byte; the JSON differs (addresses, type names, amounts as BTC floats).
// Ids are in display order (byte-reversed hash), as every RPC and explorer shows them.
import { CodedError } from '../../infra/index.ts';
import { Block, Transaction } from 'bitcoinjs-lib';

export interface BlockOutput {
  vout: number;
  /** The scriptPubKey, hex: what deposits are matched by. */
  scriptHex: string;
  valueSat: bigint;
}

export interface BlockInput {
  /** The spent output; null for the coinbase input. */
  previousOutput: { txid: string; vout: number } | null;
  sequence: number;
}

export interface BlockTransaction {
  txid: string;
  wtxid: string;
  isCoinbase: boolean;
  inputs: BlockInput[];
  outputs: BlockOutput[];
}

export interface ParsedBlock {
  hash: string;
  /** All zeros for the genesis block. */
  previousHash: string;
  /** The header's timestamp, seconds since the epoch (miners may skew it by hours; not monotonic). */
  timeSeconds: number;
  /** Not in the serialized block: from context (the height it was fetched at). */
  height: number;
  transactions: BlockTransaction[];
}

const blockErrorCodes = [
  // The bytes are not a valid block (unparsable, empty, merkle root or witness commitment wrong).
  'invalid_bitcoin_block',
  // A valid block, but not the one asked for by hash: the node moved on (a reorg) or substituted it; ask again.
  'bitcoin_block_mismatch',
] as const;

export class BitcoinBlockError extends CodedError<(typeof blockErrorCodes)[number]> {
  static readonly codes = blockErrorCodes;
  override name = 'BitcoinBlockError';
}

const displayHex = (hash: Uint8Array) => Buffer.from(hash).reverse().toString('hex');

export function parseTransaction(transaction: Transaction): BlockTransaction {
  const isCoinbase = transaction.isCoinbase();
  return {
    txid: transaction.getId(),
    wtxid: displayHex(transaction.getHash(true)),
    isCoinbase,
    inputs: transaction.ins.map((input) => ({
      previousOutput: isCoinbase ? null : { txid: displayHex(input.hash), vout: input.index },
      sequence: input.sequence,
    })),
    outputs: transaction.outs.map((output, vout) => ({ vout, scriptHex: Buffer.from(output.script).toString('hex'), valueSat: output.value })),
  };
}

/**
 * Parses a serialized block and checks that it is the block asked for: its hash, and its
 * transactions against the header's merkle root (and witness commitment), so a truncated or
 * substituted answer fails here instead of becoming a missing deposit.
 */
export function parseBlock(params: { hex: string; height: number; expectedHash?: string }): ParsedBlock {
  let block: Block;
  try {
    block = Block.fromHex(params.hex);
  } catch (error) {
    throw new BitcoinBlockError('invalid_bitcoin_block', `not a serialized block: ${(error as Error).message}`, { cause: error });
  }
  const hash = block.getId();
  if (params.expectedHash !== undefined && hash !== params.expectedHash) throw new BitcoinBlockError('bitcoin_block_mismatch', `asked for block ${params.expectedHash}, got ${hash}`);
  if (!block.transactions?.length || !block.prevHash) throw new BitcoinBlockError('invalid_bitcoin_block', `block ${hash} carries no transactions`);
  if (!block.checkTxRoots()) throw new BitcoinBlockError('invalid_bitcoin_block', `block ${hash}: its transactions do not match the merkle root or witness commitment`);
  return {
    hash,
    previousHash: displayHex(block.prevHash),
    timeSeconds: block.timestamp,
    height: params.height,
    transactions: block.transactions.map(parseTransaction),
  };
}
