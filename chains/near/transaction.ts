// NEAR transactions as coffer builds them: borsh through near-api-js, signed over
// sha256(borsh(transaction)) with ed25519, the transaction's id being the base58 of that hash.
// The unsigned transaction travels as base64 borsh, so assembling never rebuilds it.
import { sha256 } from '@noble/hashes/sha2.js';
import { base58 } from '@scure/base';
import { actions, createTransaction, decodeTransaction, encodeTransaction, KeyType, PublicKey, Signature, SignedTransaction, type Action } from 'near-api-js';
import { ChainError } from '../types.ts';

export interface NearTransactionInput {
  signerId: string;
  /** `ed25519:<base58>` */
  publicKey: string;
  receiverId: string;
  nonce: bigint;
  /** base58, a recent block's hash (nearcore refuses one older than about a day of blocks). */
  blockHash: string;
  actions: Action[];
}

export const transferAction = (amountYocto: bigint): Action => actions.transfer(amountYocto);
export const functionCallAction = (method: string, args: object, gas: bigint, depositYocto: bigint): Action => actions.functionCall(method, args, gas, depositYocto);

/** The borsh bytes of the unsigned transaction and the 32-byte hash its signer signs. */
export function nearTransaction(input: NearTransactionInput): { borsh: Uint8Array; hash: Uint8Array } {
  const tx = createTransaction(input.signerId, PublicKey.fromString(input.publicKey), input.receiverId, input.nonce, input.actions, base58.decode(input.blockHash));
  const borsh = encodeTransaction(tx);
  return { borsh, hash: sha256(borsh) };
}

/** The signed transaction (base64, as `send_tx` takes it) and its id. */
export function sealNearTransaction(borsh: Uint8Array, signature: Uint8Array): { id: string; raw: string } {
  if (signature.length !== 64) throw new ChainError('wrong_signature', `a NEAR ed25519 signature is 64 bytes, got ${signature.length}`);
  const transaction = decodeTransaction(borsh);
  const signed = new SignedTransaction({ transaction, signature: new Signature({ keyType: KeyType.ED25519, data: signature }) });
  return { id: base58.encode(sha256(borsh)), raw: Buffer.from(signed.encode()).toString('base64') };
}

/** The signer of a signed transaction (base64), for `tx` look-ups, which nearcore routes by sender. */
export function signerOfSigned(raw: string): string {
  return SignedTransaction.decode(Buffer.from(raw, 'base64')).transaction.signerId;
}

interface OutcomeView {
  block_hash: string;
  outcome: { tokens_burnt: string; status: unknown };
}

export interface FinalOutcomeView {
  final_execution_status?: string;
  status: { SuccessValue?: string; SuccessReceiptId?: string; Failure?: unknown } | string;
  transaction_outcome: OutcomeView;
  receipts_outcome: OutcomeView[];
}

/** Everything the transaction burnt: its conversion to a receipt and every receipt it caused (refunds burn nothing). */
export function outcomeFeeYocto(outcome: FinalOutcomeView): bigint {
  return [outcome.transaction_outcome, ...outcome.receipts_outcome].reduce((sum, o) => sum + BigInt(o.outcome.tokens_burnt), 0n);
}

export function outcomeSucceeded(outcome: FinalOutcomeView): boolean {
  return typeof outcome.status === 'object' && outcome.status !== null && !('Failure' in outcome.status);
}
