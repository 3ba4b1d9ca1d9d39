// Landed transactions in the shapes getTransaction and getBlock answer with, per `encoding`
// (json, jsonParsed, base64, base58) and `transactionDetails` (full, accounts).
import { getBase58Decoder, getBase64Decoder } from '@solana/kit';
import type { LandedTransaction } from './chain.ts';
import { invalidParams, RpcError, rpcErrorCode } from './errors.ts';

export type TransactionEncoding = 'json' | 'jsonParsed' | 'base64' | 'base58';
export type TransactionDetails = 'full' | 'accounts' | 'signatures' | 'none';

export interface TransactionView {
  encoding: TransactionEncoding;
  /** Undefined when the client did not say, which (like agave) refuses version 0 transactions. */
  maxSupportedTransactionVersion: number | undefined;
  rewards: boolean;
}

const base58 = getBase58Decoder();
const base64 = getBase64Decoder();

export function transactionEncoding(value: unknown): TransactionEncoding {
  if (value === undefined) return 'json';
  if (value === 'json' || value === 'jsonParsed' || value === 'base64' || value === 'base58') return value;
  throw invalidParams(`unsupported transaction encoding ${JSON.stringify(value)}; use json, jsonParsed, base64 or base58`);
}

export function transactionDetails(value: unknown): TransactionDetails {
  if (value === undefined) return 'full';
  if (value === 'full' || value === 'accounts' || value === 'signatures' || value === 'none') return value;
  throw invalidParams(`unsupported transactionDetails ${JSON.stringify(value)}; use full, accounts, signatures or none`);
}

export function maxSupportedTransactionVersion(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === 0) return 0;
  throw invalidParams(`maxSupportedTransactionVersion ${JSON.stringify(value)} is not supported; use 0`);
}

function version(transaction: LandedTransaction, view: TransactionView): { version?: 'legacy' | 0 } {
  const { version: messageVersion } = transaction.message;
  if (view.maxSupportedTransactionVersion === undefined) {
    if (messageVersion !== 'legacy') {
      throw new RpcError(
        rpcErrorCode.unsupportedTransactionVersion,
        `Transaction version (${String(messageVersion)}) is not supported by the requesting client. Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": 0`,
      );
    }
    return {};
  }
  return { version: messageVersion === 'legacy' ? 'legacy' : 0 };
}

function annotatedKeys(transaction: LandedTransaction) {
  const signers = transaction.message.header.numSignerAccounts;
  const staticCount = transaction.message.staticAccounts.length;
  return transaction.accountKeys.map((pubkey, index) => ({
    pubkey,
    signer: index < signers,
    source: index < staticCount ? 'transaction' : 'lookupTable',
    writable: transaction.writable[index] ?? false,
  }));
}

function status(transaction: LandedTransaction) {
  return { err: transaction.err, status: transaction.err ? { Err: transaction.err } : { Ok: null } };
}

function accountsMeta(transaction: LandedTransaction, view: TransactionView) {
  return {
    ...status(transaction),
    fee: transaction.feeLamports,
    preBalances: transaction.preBalances,
    postBalances: transaction.postBalances,
    preTokenBalances: transaction.preTokenBalances,
    postTokenBalances: transaction.postTokenBalances,
    ...(view.rewards ? { rewards: [] } : {}),
  };
}

function instructionJson(
  parsed: boolean,
  transaction: LandedTransaction,
  instruction: { programIdIndex: number; accounts: readonly number[]; data: Uint8Array | undefined; stackHeight: number | null },
) {
  const data = base58.decode(instruction.data ?? new Uint8Array());
  // jsonParsed shows every instruction partially decoded, the form agave uses for programs it has no parser for.
  if (parsed) {
    return {
      accounts: instruction.accounts.map((index) => transaction.accountKeys[index]),
      data,
      programId: transaction.accountKeys[instruction.programIdIndex],
      stackHeight: instruction.stackHeight,
    };
  }
  return { accounts: [...instruction.accounts], data, programIdIndex: instruction.programIdIndex, stackHeight: instruction.stackHeight };
}

function fullMeta(transaction: LandedTransaction, view: TransactionView) {
  const parsed = view.encoding === 'jsonParsed';
  const returnData = transaction.returnData
    ? { returnData: { programId: transaction.returnData.programId, data: [base64.decode(transaction.returnData.data), 'base64'] } }
    : {};
  return {
    ...accountsMeta(transaction, view),
    rewards: view.rewards ? [] : null,
    innerInstructions: transaction.innerInstructions.map((entry) => ({
      index: entry.index,
      instructions: entry.instructions.map((inner) => instructionJson(parsed, transaction, inner)),
    })),
    logMessages: transaction.logs,
    loadedAddresses: transaction.loadedAddresses,
    computeUnitsConsumed: transaction.computeUnitsConsumed,
    ...returnData,
  };
}

function messageJson(transaction: LandedTransaction, parsed: boolean) {
  const { message } = transaction;
  const lookups =
    'addressTableLookups' in message
      ? {
          addressTableLookups: (message.addressTableLookups ?? []).map((lookup) => ({
            accountKey: lookup.lookupTableAddress,
            writableIndexes: lookup.writableIndexes,
            readonlyIndexes: lookup.readonlyIndexes,
          })),
        }
      : {};
  const instructions = message.instructions.map((instruction) =>
    instructionJson(parsed, transaction, {
      programIdIndex: instruction.programAddressIndex,
      accounts: instruction.accountIndices ?? [],
      data: instruction.data ? new Uint8Array(instruction.data) : undefined,
      stackHeight: null,
    }),
  );
  if (parsed) return { accountKeys: annotatedKeys(transaction), instructions, recentBlockhash: message.lifetimeToken, ...lookups };
  return {
    accountKeys: message.staticAccounts,
    header: {
      numReadonlySignedAccounts: message.header.numReadonlySignerAccounts,
      numReadonlyUnsignedAccounts: message.header.numReadonlyNonSignerAccounts,
      numRequiredSignatures: message.header.numSignerAccounts,
    },
    instructions,
    recentBlockhash: message.lifetimeToken,
    ...lookups,
  };
}

/** `{transaction, meta, version?}` as inside getBlock's `transactions` (getTransaction adds slot and blockTime). */
export function transactionJson(transaction: LandedTransaction, details: 'full' | 'accounts', view: TransactionView) {
  const versioned = version(transaction, view);
  if (details === 'accounts') {
    return {
      transaction: { accountKeys: annotatedKeys(transaction), signatures: transaction.signatures },
      meta: accountsMeta(transaction, view),
      ...versioned,
    };
  }
  let encoded: unknown;
  if (view.encoding === 'base64') encoded = [base64.decode(transaction.wire), 'base64'];
  else if (view.encoding === 'base58') encoded = [base58.decode(transaction.wire), 'base58'];
  else encoded = { message: messageJson(transaction, view.encoding === 'jsonParsed'), signatures: transaction.signatures };
  return { transaction: encoded, meta: fullMeta(transaction, view), ...versioned };
}
