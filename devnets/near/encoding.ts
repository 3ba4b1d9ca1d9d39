// Bytes in and out of the NEAR devnet: signed transactions decoded with near-api-js's own borsh
// schema (so whatever near-api-js signs, the devnet reads the same way), hashes in base58 as
// nearcore prints them, and actions turned into nearcore's JSON `ActionView`s.
import { createHash } from 'node:crypto';
import { PublicKey, decodeSignedTransaction, encodeTransaction } from 'near-api-js';
import { base58 } from '@scure/base';

/** The all-zero hash nearcore prints for roots it has nothing under, and for a plain account's code. */
export const emptyHash = '11111111111111111111111111111111';

/** base58(sha256(parts…)): the shape of every block, chunk, receipt and data id nearcore prints. */
export function hashBase58(...parts: (string | Uint8Array | bigint | number)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(typeof part === 'string' || part instanceof Uint8Array ? part : String(part)).update('\u0000');
  return base58.encode(hash.digest());
}

export type AccessKeyPermission = 'FullAccess' | { FunctionCall: { allowance: bigint | null; receiverId: string; methodNames: string[] } };

export type Action =
  | { type: 'CreateAccount' }
  | { type: 'Transfer'; deposit: bigint }
  | { type: 'FunctionCall'; methodName: string; args: Uint8Array; gas: bigint; deposit: bigint }
  | { type: 'AddKey'; publicKey: string; permission: AccessKeyPermission }
  | { type: 'DeleteKey'; publicKey: string };

export interface DecodedTransaction {
  hash: string;
  signerId: string;
  publicKey: string;
  nonce: bigint;
  receiverId: string;
  blockHash: string;
  actions: Action[];
  signature: string;
  /** Whether the signature is the access key's signature over sha256(borsh(Transaction)). */
  signatureValid: boolean;
}

export class UnsupportedActionError extends Error {
  override name = 'UnsupportedActionError';
}

type RawAction = Record<string, Record<string, unknown>>;

function decodeAction(raw: RawAction): Action {
  const [kind, body] = Object.entries(raw)[0] ?? [];
  switch (kind) {
    case 'createAccount':
      return { type: 'CreateAccount' };
    case 'transfer':
      return { type: 'Transfer', deposit: BigInt(body!.deposit as bigint) };
    case 'functionCall':
      return {
        type: 'FunctionCall',
        methodName: body!.methodName as string,
        args: Uint8Array.from(body!.args as number[]),
        gas: BigInt(body!.gas as bigint),
        deposit: BigInt(body!.deposit as bigint),
      };
    case 'addKey': {
      const accessKey = body!.accessKey as { permission: { fullAccess?: object; functionCall?: { allowance?: bigint | null; receiverId: string; methodNames: string[] } } };
      const functionCall = accessKey.permission.functionCall;
      return {
        type: 'AddKey',
        publicKey: PublicKey.from(body!.publicKey as never).toString(),
        permission: functionCall
          ? { FunctionCall: { allowance: functionCall.allowance == null ? null : BigInt(functionCall.allowance), receiverId: functionCall.receiverId, methodNames: functionCall.methodNames } }
          : 'FullAccess',
      };
    }
    case 'deleteKey':
      return { type: 'DeleteKey', publicKey: PublicKey.from(body!.publicKey as never).toString() };
    default:
      // Staking, contract deployment, account deletion and meta-transactions have no use in coffer's tests.
      throw new UnsupportedActionError(`the NEAR devnet does not execute ${kind ?? 'unknown'} actions`);
  }
}

/** Decodes `signed_tx_base64` and checks its signature; throws on bytes that are not a signed transaction. */
export function decodeTransaction(signedTxBase64: string): DecodedTransaction {
  const signed = decodeSignedTransaction(Buffer.from(signedTxBase64, 'base64'));
  const transaction = signed.transaction;
  const hashBytes = createHash('sha256').update(encodeTransaction(transaction)).digest();
  const rawSignature = Object.values(signed.signature as unknown as Record<string, { data: number[] }>)[0];
  const signatureBytes = Uint8Array.from(rawSignature?.data ?? []);
  const publicKey = PublicKey.from(transaction.publicKey);
  let signatureValid: boolean;
  try {
    signatureValid = publicKey.verify(hashBytes, signatureBytes);
  } catch {
    signatureValid = false;
  }
  return {
    hash: base58.encode(hashBytes),
    signerId: transaction.signerId,
    publicKey: publicKey.toString(),
    nonce: BigInt(transaction.nonce),
    receiverId: transaction.receiverId,
    blockHash: base58.encode(Uint8Array.from(transaction.blockHash)),
    actions: (transaction.actions as unknown as RawAction[]).map(decodeAction),
    signature: `${publicKey.toString().split(':')[0]}:${base58.encode(signatureBytes)}`,
    signatureValid,
  };
}

export function permissionView(permission: AccessKeyPermission): unknown {
  if (permission === 'FullAccess') return 'FullAccess';
  const { allowance, receiverId, methodNames } = permission.FunctionCall;
  return { FunctionCall: { allowance: allowance === null ? null : allowance.toString(), receiver_id: receiverId, method_names: methodNames } };
}

/** nearcore's `ActionView`. */
export function actionView(action: Action): unknown {
  switch (action.type) {
    case 'CreateAccount':
      return 'CreateAccount';
    case 'Transfer':
      return { Transfer: { deposit: action.deposit.toString() } };
    case 'FunctionCall':
      return {
        FunctionCall: { method_name: action.methodName, args: Buffer.from(action.args).toString('base64'), gas: Number(action.gas), deposit: action.deposit.toString() },
      };
    case 'AddKey':
      return { AddKey: { public_key: action.publicKey, access_key: { nonce: 0, permission: permissionView(action.permission) } } };
    case 'DeleteKey':
      return { DeleteKey: { public_key: action.publicKey } };
  }
}

/** The bytes an access key takes in the trie (nearcore's storage accounting: 40 bytes of record plus the borsh key and value). */
export function accessKeyStorageBytes(publicKey: string, permission: AccessKeyPermission): number {
  const keyBytes = 1 + PublicKey.from(publicKey).data.length;
  if (permission === 'FullAccess') return 40 + keyBytes + 9;
  const { allowance, receiverId, methodNames } = permission.FunctionCall;
  const valueBytes = 8 + 1 + 1 + (allowance === null ? 0 : 16) + 4 + receiverId.length + 4 + methodNames.reduce((sum, name) => sum + 4 + name.length, 0);
  return 40 + keyBytes + valueBytes;
}
