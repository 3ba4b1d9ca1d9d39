// Following a transaction that was signed and stored before it was sent (sweeps, agent spends):
// send it — again, harmlessly, if the node has it — and wait for its confirmations. Shared so
// that both treat "already known" and "mined meanwhile" the same way.
import type { Hex, PublicClient } from 'viem';

export type BroadcastOutcome = { status: 'sent' } | { status: 'refused'; message: string };

/** Sends `raw` unless it is mined already. A refusal of a transaction the node does not have (its nonce taken, too little gas money) is `refused`. */
export async function broadcastStored(client: PublicClient, raw: Hex, hash: Hex): Promise<BroadcastOutcome> {
  if (await client.getTransactionReceipt({ hash }).catch(() => null)) return { status: 'sent' };
  try {
    await client.sendRawTransaction({ serializedTransaction: raw });
    return { status: 'sent' };
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'refused';
    const known = /already known|known transaction/i.test(message) || (await client.getTransaction({ hash }).catch(() => null)) !== null;
    return known ? { status: 'sent' } : { status: 'refused', message };
  }
}

export interface Confirmed {
  success: boolean;
  blockNumber: bigint;
  /** Gas used × effective gas price, in wei. */
  fee: bigint;
}

/** Polls until the transaction has `confirmations` blocks (its own included); null when `timeoutMs` passes first. */
export async function awaitConfirmations(client: PublicClient, hash: Hex, options: { confirmations: number; timeoutMs: number; pollIntervalMs: number }): Promise<Confirmed | null> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const receipt = await client.getTransactionReceipt({ hash }).catch(() => null);
    if (receipt && (await client.getBlockNumber()) - receipt.blockNumber + 1n >= BigInt(options.confirmations)) {
      return { success: receipt.status === 'success', blockNumber: receipt.blockNumber, fee: receipt.gasUsed * receipt.effectiveGasPrice };
    }
    if (Date.now() > deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, options.pollIntervalMs));
  }
}
