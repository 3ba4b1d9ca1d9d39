// Following a transaction that was signed and stored before it was sent (sweeps, agent spends,
// relayed transactions): send it — again, harmlessly, if the node has it — and read where it
// stands. Shared so that every flow treats "already known" and "mined meanwhile" the same way.
import type { Hex, PublicClient } from 'viem';
import type { BroadcastOutcome, TransactionStatus } from '../types.ts';

/**
 * What the node said when viem reports a failed call. viem's message starts with its own words
 * ("Transaction creation failed."); the node's answer ("already known", "nonce too low") is in
 * `details`.
 */
export function nodeAnswer(error: unknown): string {
  const details = (error as { details?: unknown } | null)?.details;
  if (typeof details === 'string' && details.length > 0) return details;
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

/** Sends `raw` unless it is mined already. A refusal of a transaction the node does not have (its nonce taken, too little gas money) is `refused`. */
export async function broadcastStored(client: PublicClient, raw: Hex, hash: Hex): Promise<BroadcastOutcome> {
  if (await client.getTransactionReceipt({ hash }).catch(() => null)) return { status: 'sent' };
  try {
    await client.sendRawTransaction({ serializedTransaction: raw });
    return { status: 'sent' };
  } catch (error) {
    const message = nodeAnswer(error) || 'refused';
    const known = /already known|known transaction/i.test(message) || (await client.getTransaction({ hash }).catch(() => null)) !== null;
    return known ? { status: 'sent' } : { status: 'refused', message };
  }
}

/** Where a transaction stands: its receipt's block and the confirmations on top (its own included). */
export async function evmTransactionStatus(client: PublicClient, hash: Hex): Promise<TransactionStatus> {
  const receipt = await client.getTransactionReceipt({ hash }).catch(() => null);
  if (!receipt) return (await client.getTransaction({ hash }).catch(() => null)) ? { status: 'mempool' } : { status: 'unknown' };
  const head = await client.getBlockNumber();
  return {
    status: 'included',
    height: receipt.blockNumber,
    confirmations: Number(head - receipt.blockNumber + 1n),
    success: receipt.status === 'success',
    fee: receipt.gasUsed * receipt.effectiveGasPrice,
  };
}
