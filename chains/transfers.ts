// The chain-neutral half of a transfer: signing what an adapter planned, and following the
// broadcast transaction to the depth its caller wants. Storing the signed bytes and booking
// the outcome stay with the caller (sweeps, spends, refills), which own those tables.
import type { Signature, Signer } from '../signer/index.ts';
import { ChainError, type ChainAdapter, type ChainClient, type SignedTransaction, type TransactionStatus, type UnsignedTransaction } from './types.ts';

/** Signs each payload (derived keys through the Signer; operational keys through `operational`) and assembles the transaction. */
export async function signTransfer(options: {
  adapter: ChainAdapter;
  unsigned: UnsignedTransaction;
  signer: Signer;
  operational?: (name: string, bytes: Uint8Array) => Signature | Promise<Signature>;
}): Promise<SignedTransaction> {
  const signatures: Signature[] = [];
  for (const payload of options.unsigned.payloads) {
    if ('derived' in payload.signer) {
      signatures.push(await options.signer.sign(payload.signer.derived, payload.bytes));
    } else {
      if (!options.operational) throw new ChainError('no_operational_key', `the transaction needs the keystore key ${payload.signer.operational}, and none is open`);
      signatures.push(await options.operational(payload.signer.operational, payload.bytes));
    }
  }
  return options.adapter.assemble(options.unsigned, signatures);
}

export interface FollowLimits {
  /** Blocks on top of the transaction's block (its own included) before it counts as final. */
  confirmations: number;
  timeoutMs: number;
  pollIntervalMs: number;
}

/** Polls until the transaction has `confirmations`; null when `timeoutMs` passes first (the caller retries later). */
export async function awaitConfirmations(client: ChainClient, id: string, limits: FollowLimits): Promise<Extract<TransactionStatus, { status: 'included' }> | null> {
  const deadline = Date.now() + limits.timeoutMs;
  for (;;) {
    const status = await client.status(id);
    if (status.status === 'included' && status.confirmations >= limits.confirmations) return status;
    if (Date.now() > deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, limits.pollIntervalMs));
  }
}
