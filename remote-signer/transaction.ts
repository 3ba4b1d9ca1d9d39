// eth_signTransaction's one parameter, as the OP Stack signer client shapes it (Go's
// TransactionArgs: every field present, null where unset, `input` and `data`, an empty
// `accessList`, `chainId`) and as Web3Signer clients send it, turned into a transaction to sign.
// coffer reaches no node here, so the nonce, gas, fees and chain id must be given; the rules
// are those of op-service's TransactionArgs.Check (research aa-remote-signer-web.md §B1).
import { keccak256, parseTransaction, type Hex, type TransactionSerializable } from 'viem';
import { z } from 'zod';
import type { JsonObject } from '../ledger/index.ts';
import { RemoteSignerError } from './errors.ts';
import type { SigningFacts } from './policy.ts';

/** Calldata up to this size is kept whole in the audit event; longer calldata by its length, selector and keccak256. */
export const auditInputBytesMax = 4_096;

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x address of 20 bytes');
const quantity = z.string().regex(/^0x[0-9a-fA-F]{1,64}$/, 'must be a 0x hex quantity');
const bytes = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, 'must be 0x hex bytes');
const bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be 32 bytes of 0x hex');

// Unknown fields (a blob sidecar's blobs, commitments, proofs) are ignored: they are not signed.
const transactionArgs = z.object({
  from: address,
  to: address.nullish(),
  gas: quantity.nullish(),
  gasPrice: quantity.nullish(),
  maxFeePerGas: quantity.nullish(),
  maxPriorityFeePerGas: quantity.nullish(),
  maxFeePerBlobGas: quantity.nullish(),
  value: quantity.nullish(),
  nonce: quantity.nullish(),
  data: bytes.nullish(),
  input: bytes.nullish(),
  accessList: z.array(z.object({ address, storageKeys: z.array(bytes32).max(10_000) })).max(10_000).nullish(),
  chainId: quantity.nullish(),
  blobVersionedHashes: z.array(bytes32).max(64).nullish(),
});

export interface TransactionRequest {
  from: Hex;
  transaction: TransactionSerializable;
}

const invalid = (message: string) => new RemoteSignerError('invalid_params', message);

/** The request's sender and the unsigned transaction it describes; RemoteSignerError `invalid_params` when it cannot be signed as asked. */
export function parseTransactionArgs(input: unknown): TransactionRequest {
  const parsed = transactionArgs.safeParse(input);
  if (!parsed.success) throw invalid(parsed.error.issues.map((issue) => `${issue.path.join('.') || 'transaction'}: ${issue.message}`).join('; '));
  const args = parsed.data;
  if (args.data && args.input && args.data.toLowerCase() !== args.input.toLowerCase()) throw invalid('data and input differ; send one (input is preferred)');
  if (!args.nonce) throw invalid('nonce is required: the signer does not look nonces up');
  if (!args.chainId) throw invalid('chainId is required: the signer serves several chains and guesses none');
  if (!args.gas) throw invalid('gas is required: the signer does not estimate gas');
  const common = {
    chainId: Number(BigInt(args.chainId)),
    nonce: Number(BigInt(args.nonce)),
    gas: BigInt(args.gas),
    value: BigInt(args.value ?? '0x0'),
    data: (args.input ?? args.data ?? '0x') as Hex,
    ...(args.to ? { to: args.to as Hex } : {}),
  };
  if (!Number.isSafeInteger(common.chainId) || common.chainId < 1) throw invalid('chainId is out of range');
  if (!Number.isSafeInteger(common.nonce)) throw invalid('nonce is out of range');
  const accessList = (args.accessList ?? []).map((item) => ({ address: item.address as Hex, storageKeys: item.storageKeys as Hex[] }));
  if (args.gasPrice) {
    if (args.maxFeePerGas || args.maxPriorityFeePerGas) throw invalid('both gasPrice and maxFeePerGas or maxPriorityFeePerGas specified');
    if (args.blobVersionedHashes?.length) throw invalid('a blob transaction has no gasPrice');
    const transaction: TransactionSerializable =
      accessList.length > 0 ? { type: 'eip2930', ...common, gasPrice: BigInt(args.gasPrice), accessList } : { type: 'legacy', ...common, gasPrice: BigInt(args.gasPrice) };
    return { from: args.from as Hex, transaction };
  }
  if (!args.maxFeePerGas || !args.maxPriorityFeePerGas) throw invalid('send maxFeePerGas and maxPriorityFeePerGas (or gasPrice for a legacy transaction)');
  const fees = { maxFeePerGas: BigInt(args.maxFeePerGas), maxPriorityFeePerGas: BigInt(args.maxPriorityFeePerGas) };
  if (fees.maxFeePerGas < fees.maxPriorityFeePerGas) throw invalid('maxFeePerGas is below maxPriorityFeePerGas');
  if (args.blobVersionedHashes?.length) {
    if (!args.maxFeePerBlobGas) throw invalid('a blob transaction needs maxFeePerBlobGas');
    if (!args.to) throw invalid('a blob transaction cannot create a contract');
    const transaction: TransactionSerializable = {
      type: 'eip4844',
      ...common,
      to: args.to as Hex,
      ...fees,
      accessList,
      maxFeePerBlobGas: BigInt(args.maxFeePerBlobGas),
      blobVersionedHashes: args.blobVersionedHashes as Hex[],
    };
    return { from: args.from as Hex, transaction };
  }
  return { from: args.from as Hex, transaction: { type: 'eip1559', ...common, ...fees, accessList } };
}

/** An unsigned (or signed) serialized transaction in raw bytes, or null when the bytes are not one. */
export function decodeSerializedTransaction(data: Hex): TransactionSerializable | null {
  try {
    return parseTransaction(data);
  } catch {
    return null;
  }
}

const text = (value: bigint | number | undefined) => (value === undefined ? null : value.toString());

/** What the policy judges and what the audit event records of a transaction. */
export function describeTransaction(transaction: TransactionSerializable): { facts: Extract<SigningFacts, { kind: 'transaction' }>; decoded: JsonObject } {
  const input = transaction.data ?? '0x';
  const inputBytes = (input.length - 2) / 2;
  const fees =
    transaction.type === 'legacy' || transaction.type === 'eip2930'
      ? { maxFeePerGas: transaction.gasPrice ?? 0n, maxPriorityFeePerGas: null, maxFeePerBlobGas: null }
      : { maxFeePerGas: transaction.maxFeePerGas ?? 0n, maxPriorityFeePerGas: transaction.maxPriorityFeePerGas ?? null, maxFeePerBlobGas: transaction.type === 'eip4844' ? (transaction.maxFeePerBlobGas ?? null) : null };
  const facts = {
    kind: 'transaction' as const,
    chainId: BigInt(transaction.chainId ?? 0),
    to: transaction.to ?? null,
    value: transaction.value ?? 0n,
    input,
    ...fees,
  };
  const decoded: JsonObject = {
    type: transaction.type ?? 'eip1559',
    chainId: facts.chainId.toString(),
    nonce: text(transaction.nonce),
    to: facts.to,
    value: facts.value.toString(),
    gas: text(transaction.gas),
    ...(transaction.type === 'legacy' || transaction.type === 'eip2930'
      ? { gasPrice: fees.maxFeePerGas.toString() }
      : { maxFeePerGas: fees.maxFeePerGas.toString(), maxPriorityFeePerGas: text(fees.maxPriorityFeePerGas ?? undefined) }),
    ...(transaction.type === 'eip4844' ? { maxFeePerBlobGas: text(transaction.maxFeePerBlobGas), blobVersionedHashes: [...(transaction.blobVersionedHashes ?? [])] } : {}),
    ...('accessList' in transaction && transaction.accessList?.length ? { accessList: transaction.accessList.map((item) => ({ address: item.address, storageKeys: [...item.storageKeys] })) } : {}),
    inputBytes,
    ...(inputBytes >= 4 ? { selector: input.slice(0, 10).toLowerCase() } : {}),
    ...(inputBytes <= auditInputBytesMax ? { input } : { inputKeccak256: keccak256(input) }),
  };
  return { facts, decoded };
}
