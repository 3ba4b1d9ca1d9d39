// What a batch of blocks holds for us, read without touching the database: value moving to any
// address (native transfers by successful transactions, ERC-20 Transfers from registered
// token contracts) and the contract events later flows act on. The store then keeps only the
// transfers whose recipient is a deposit address.
import type { BlockData } from '@subsquid/evm-processor';
import { decodeContractEvent, decodeTransfer } from './events.ts';

export const fields = {
  block: { timestamp: true },
  transaction: { from: true, to: true, hash: true, value: true, status: true },
  log: { address: true, topics: true, data: true, transactionHash: true },
} as const;

export type Block = BlockData<typeof fields>;

export interface BlockRef {
  height: number;
  hash: string;
  timestamp: Date;
}

export interface ObservedTransfer {
  block: BlockRef;
  txHash: string;
  /** null for a native transfer (the transaction's value). */
  logIndex: number | null;
  /** Lower-case recipient. */
  to: string;
  /** `ETH`, or the registered asset code of the token contract. */
  asset: string;
  /** Lower-case token contract, null for ETH. */
  contract: string | null;
  amount: bigint;
}

export interface ObservedEvent {
  block: BlockRef;
  txHash: string;
  logIndex: number;
  contract: string;
  event: string;
  args: Record<string, string | boolean>;
}

export interface Observation {
  blocks: BlockRef[];
  transfers: ObservedTransfer[];
  events: ObservedEvent[];
}

export interface ObserveSettings {
  nativeAsset: string;
  /** Lower-case contract address → asset code. */
  tokens: ReadonlyMap<string, string>;
  /** Lower-case addresses whose events are recorded (forwarder, EntryPoint). */
  eventContracts: ReadonlySet<string>;
}

export function observeBlocks(blocks: readonly Block[], settings: ObserveSettings): Observation {
  const observation: Observation = { blocks: [], transfers: [], events: [] };
  for (const { header, transactions, logs } of blocks) {
    // Subsquid's timestamp is in milliseconds.
    const block: BlockRef = { height: header.height, hash: header.hash, timestamp: new Date(header.timestamp) };
    observation.blocks.push(block);
    for (const tx of transactions) {
      // status 1 = success; a reverted transaction moved no value.
      if (tx.value > 0n && tx.to && tx.status === 1) {
        observation.transfers.push({ block, txHash: tx.hash, logIndex: null, to: tx.to.toLowerCase(), asset: settings.nativeAsset, contract: null, amount: tx.value });
      }
    }
    for (const log of logs) {
      const contract = log.address.toLowerCase();
      const asset = settings.tokens.get(contract);
      if (asset) {
        const transfer = decodeTransfer(log.topics, log.data);
        if (transfer && transfer.value > 0n) {
          observation.transfers.push({ block, txHash: log.transactionHash, logIndex: log.logIndex, to: transfer.to, asset, contract, amount: transfer.value });
        }
      }
      if (settings.eventContracts.has(contract)) {
        const decoded = decodeContractEvent(log.topics, log.data);
        if (decoded) observation.events.push({ block, txHash: log.transactionHash, logIndex: log.logIndex, contract, ...decoded });
      }
    }
  }
  return observation;
}
