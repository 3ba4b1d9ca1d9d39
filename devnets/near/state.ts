// The devnet's world state: accounts with balances in yoctoNEAR, access keys with nonces, a
// contract name for "contract" accounts and their key-value storage. One map per block, shared
// between blocks that changed nothing, so views at `final` read the state as of that block.
import { createHash } from 'node:crypto';
import { base58 } from '@scure/base';
import { accessKeyStorageBytes, emptyHash, type AccessKeyPermission, type Action } from './encoding.ts';

export interface AccessKeyRecord {
  nonce: bigint;
  permission: AccessKeyPermission;
}

export interface AccountRecord {
  amount: bigint;
  locked: bigint;
  keys: Map<string, AccessKeyRecord>;
  /** The name of the registered contract, or null for a plain account. */
  contract: string | null;
  codeBytes: number;
  storage: Map<string, string>;
}

export type Accounts = Map<string, AccountRecord>;

/** nearcore's storage_amount_per_byte. */
export const storageYoctoPerByte = 10n ** 19n;
/** Accounts this small need no storage stake (NEP-448 zero-balance accounts). */
export const zeroBalanceAccountBytesMax = 770;
/** New access keys start at (height − 1) × this, as in nearcore, so nonces are never reused. */
export const accessKeyNonceRange = 1_000_000n;

export function cloneAccount(account: AccountRecord): AccountRecord {
  return {
    ...account,
    keys: new Map([...account.keys].map(([key, value]) => [key, { ...value }])),
    storage: new Map(account.storage),
  };
}

export function storageUsage(account: AccountRecord): number {
  let bytes = 100 + account.codeBytes;
  for (const [publicKey, key] of account.keys) bytes += accessKeyStorageBytes(publicKey, key.permission);
  for (const [key, value] of account.storage) bytes += 40 + Buffer.byteLength(key) + Buffer.byteLength(value);
  return bytes;
}

/** The stake the account must keep for its storage (0 below the zero-balance limit). */
export function storageStakeYocto(account: AccountRecord): bigint {
  const bytes = storageUsage(account);
  return bytes <= zeroBalanceAccountBytesMax ? 0n : BigInt(bytes) * storageYoctoPerByte;
}

export function codeHash(account: AccountRecord): string {
  return account.contract === null ? emptyHash : base58.encode(createHash('sha256').update(`devnet contract ${account.contract}`).digest());
}

/** nearcore's AccountView. */
export function accountView(account: AccountRecord): Record<string, unknown> {
  return {
    amount: account.amount.toString(),
    locked: account.locked.toString(),
    code_hash: codeHash(account),
    storage_usage: storageUsage(account),
    storage_paid_at: 0,
  };
}

// Gas fees per action, from nearcore's runtime config (send and execution cost the same here).
export const gasPriceYocto = 100_000_000n;
export const receiptCreationGas = 108_059_500_000n;
export const prepaidGasMax = 300n * 1_000_000_000_000n;

export function actionFeeGas(action: Action): bigint {
  switch (action.type) {
    case 'CreateAccount':
      return 99_607_375_000n;
    case 'Transfer':
      return 115_123_062_500n;
    case 'FunctionCall':
      return 2_319_861_500_000n + 2_235_934n * BigInt(action.args.length + action.methodName.length);
    case 'AddKey':
      return action.permission === 'FullAccess' ? 101_765_125_000n : 102_217_625_000n + 1_925_331n * BigInt(action.permission.FunctionCall.methodNames.join('').length);
    case 'DeleteKey':
      return 94_946_625_000n;
  }
}

/** What one side (sending or executing) of a receipt with these actions costs in gas. */
export function receiptFeeGas(actions: Action[]): bigint {
  return actions.reduce((sum, action) => sum + actionFeeGas(action), receiptCreationGas);
}

export function attachedGas(actions: Action[]): bigint {
  return actions.reduce((sum, action) => sum + (action.type === 'FunctionCall' ? action.gas : 0n), 0n);
}

export function attachedDeposit(actions: Action[]): bigint {
  return actions.reduce((sum, action) => sum + (action.type === 'Transfer' || action.type === 'FunctionCall' ? action.deposit : 0n), 0n);
}

/** A NEAR-implicit account id: the lowercase hex of an ed25519 public key. */
export function isImplicitAccountId(accountId: string): boolean {
  return /^[0-9a-f]{64}$/.test(accountId);
}

export function implicitAccountKey(accountId: string): string {
  return `ed25519:${base58.encode(Buffer.from(accountId, 'hex'))}`;
}
