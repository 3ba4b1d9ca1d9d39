// An EVM transfer in the deposit core's words: its position is `<txhash>:<logindex|value>`
// (ADR 0003's keys, unchanged), and the entry's metadata keeps the hash and the log index.
import type { ObservedTransfer as DepositTransfer } from '../core/index.ts';
import type { ObservedTransfer } from './observe.ts';

export function evmPosition(transfer: { txHash: string; logIndex: number | null }): string {
  return `${transfer.txHash}:${transfer.logIndex ?? 'value'}`;
}

export function evmDepositTransfer(transfer: ObservedTransfer): DepositTransfer {
  return {
    block: transfer.block,
    position: evmPosition(transfer),
    txRef: transfer.txHash,
    reference: { txHash: transfer.txHash, logIndex: transfer.logIndex },
    to: transfer.to,
    asset: transfer.asset,
    contract: transfer.contract,
    amount: transfer.amount,
  };
}
