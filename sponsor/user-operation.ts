// A user operation as ERC-7677 delivers it (v0.7/v0.8 field names, every number a hex string),
// what the verifying paymaster signs over it, and what it calls (SimpleAccount's execute and
// executeBatch), so policies can allow targets and selectors.
import { concatHex, decodeFunctionData, encodeAbiParameters, keccak256, pad, parseAbi, toHex, type Address, type Hex } from 'viem';
import { z } from 'zod';
import { SponsorError } from './errors.ts';

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x address');
const quantity = z.string().regex(/^0x[0-9a-fA-F]{1,64}$/, 'must be a hex quantity of at most 256 bits such as 0x1');
/**
 * Gas limits and fees are packed two to a word (accountGasLimits, gasFees, the paymaster's
 * limits), so each is at most 128 bits; preVerificationGas is a full word on chain, but no
 * operation can pay for 2^128 gas. Bounded so, the worst-case cost fits numeric(78,0).
 */
const quantity128 = z.string().regex(/^0x[0-9a-fA-F]{1,32}$/, 'must be a hex quantity of at most 128 bits such as 0x1');
const bytes = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, 'must be 0x-prefixed hex bytes').max(200_000);
/** viem sends 0x0 for gas limits it has not estimated yet; a stub request may omit them. */
const gasLimit = quantity128.optional().default('0x0');

export const userOperationSchema = z.looseObject({
  sender: address,
  nonce: quantity,
  factory: address.nullish(),
  factoryData: bytes.nullish(),
  callData: bytes,
  callGasLimit: gasLimit,
  verificationGasLimit: gasLimit,
  preVerificationGas: gasLimit,
  maxFeePerGas: quantity128,
  maxPriorityFeePerGas: quantity128,
  paymasterVerificationGasLimit: quantity128.nullish(),
  paymasterPostOpGasLimit: quantity128.nullish(),
});

export interface UserOperation {
  sender: Address;
  nonce: bigint;
  initCode: Hex;
  callData: Hex;
  callGasLimit: bigint;
  verificationGasLimit: bigint;
  preVerificationGas: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** The gas the paymaster's own part of the operation may use: its validation, and postOp (it has none). */
export interface PaymasterGas {
  verificationGasLimit: bigint;
  postOpGasLimit: bigint;
}

export function parseUserOperation(input: unknown): UserOperation {
  const parsed = userOperationSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SponsorError('invalid_user_operation', `userOp.${issue.path.join('.') || '(root)'} ${issue.message}`);
  }
  const op = parsed.data;
  return {
    sender: op.sender as Address,
    nonce: BigInt(op.nonce),
    initCode: op.factory ? concatHex([op.factory as Hex, (op.factoryData ?? '0x') as Hex]) : '0x',
    callData: op.callData as Hex,
    callGasLimit: BigInt(op.callGasLimit),
    verificationGasLimit: BigInt(op.verificationGasLimit),
    preVerificationGas: BigInt(op.preVerificationGas),
    maxFeePerGas: BigInt(op.maxFeePerGas),
    maxPriorityFeePerGas: BigInt(op.maxPriorityFeePerGas),
  };
}

const packPair = (high: bigint, low: bigint): Hex => concatHex([pad(toHex(high), { size: 16 }), pad(toHex(low), { size: 16 })]);

/** The hash CofferVerifyingPaymaster.getHash computes on chain (the same twelve fields, in order). */
export function paymasterHash(op: UserOperation, gas: PaymasterGas, context: { chainId: number; paymaster: Address; validUntil: number; validAfter: number }): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: 'address' }, { type: 'uint256' }, { type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }, { type: 'uint256' },
        { type: 'uint256' }, { type: 'bytes32' }, { type: 'uint256' }, { type: 'address' }, { type: 'uint48' }, { type: 'uint48' },
      ],
      [
        op.sender,
        op.nonce,
        keccak256(op.initCode),
        keccak256(op.callData),
        packPair(op.verificationGasLimit, op.callGasLimit),
        BigInt(packPair(gas.verificationGasLimit, gas.postOpGasLimit)),
        op.preVerificationGas,
        packPair(op.maxPriorityFeePerGas, op.maxFeePerGas),
        BigInt(context.chainId),
        context.paymaster,
        context.validUntil,
        context.validAfter,
      ],
    ),
  );
}

/** paymasterData: abi.encode(validUntil, validAfter) ‖ the 65-byte signature. */
export function encodePaymasterData(validUntil: number, validAfter: number, signature: Hex): Hex {
  if (signature.length !== 132) throw new SponsorError('invalid_signature', 'a paymaster signature is 65 bytes');
  return concatHex([encodeAbiParameters([{ type: 'uint48' }, { type: 'uint48' }], [validUntil, validAfter]), signature]);
}

/**
 * The most this operation can cost its paymaster: every gas limit at maxFeePerGas (the
 * EntryPoint's prefund). Charged against budgets at signing, settled to actualGasCost when the
 * operation is included.
 */
export function maxCostWei(op: UserOperation, gas: PaymasterGas): bigint {
  return (op.verificationGasLimit + op.callGasLimit + op.preVerificationGas + gas.verificationGasLimit + gas.postOpGasLimit) * op.maxFeePerGas;
}

export interface Call {
  target: Address;
  value: bigint;
  /** The called method's 4-byte selector; null for a plain value transfer. */
  selector: Hex | null;
}

const accountAbi = parseAbi([
  'function execute(address target, uint256 value, bytes data)',
  'function executeBatch((address target, uint256 value, bytes data)[] calls)',
]);

const selectorOf = (data: Hex): Hex | null => (data.length >= 10 ? (data.slice(0, 10).toLowerCase() as Hex) : null);

/** The calls a SimpleAccount (v0.8) makes for this callData; null when it is neither execute nor executeBatch. Empty callData calls nothing. */
export function accountCalls(callData: Hex): Call[] | null {
  if (callData === '0x') return [];
  try {
    const decoded = decodeFunctionData({ abi: accountAbi, data: callData });
    if (decoded.functionName === 'execute') {
      const [target, value, data] = decoded.args;
      return [{ target, value, selector: selectorOf(data) }];
    }
    return decoded.args[0].map((call) => ({ target: call.target, value: call.value, selector: selectorOf(call.data) }));
  } catch {
    return null;
  }
}
