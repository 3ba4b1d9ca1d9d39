// Arbitrary EVM calls (an agent wallet's spend): the call a transfer makes (value to the
// recipient for the native asset, or the token contract's transfer(address,uint256) for an
// ERC-20), and its EIP-1559 transaction signed by a derived key.
import { encodeFunctionData, erc20Abi, type Address, type Hex, type TransactionSerializableEIP1559 } from 'viem';
import type { KeyReference, Signer } from '../../signer/index.ts';
import type { SignedTransaction } from '../types.ts';
import { evmPublicClient } from './client.ts';
import type { EvmGasEstimate } from './gas.ts';
import { signEvmTransaction } from './signing.ts';

export interface EvmTransferCall {
  to: `0x${string}`;
  value: bigint;
  data: `0x${string}`;
}

/** `contract` null: the native asset, with optional calldata for the recipient (a contract call). */
export function evmTransferCall(options: { recipient: string; amount: bigint; contract: string | null; data?: string }): EvmTransferCall {
  const recipient = options.recipient as Address;
  if (options.contract === null) return { to: recipient, value: options.amount, data: (options.data ?? '0x') as `0x${string}` };
  return { to: options.contract as Address, value: 0n, data: encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [recipient, options.amount] }) };
}

/**
 * Signs an EIP-1559 transaction making `call` from a derived key, at the larger of the node's
 * pending count and `nonceFloor` (the caller's own record, ahead of a node that lost a
 * transaction). Nothing is sent: the caller stores the bytes first. A signer that cannot sign
 * throws `SignerError`.
 */
export async function signEvmCall(options: {
  rpcUrl: string;
  signer: Signer;
  key: Omit<KeyReference, 'curve'>;
  from: string;
  call: { to: string; value: bigint; data: string };
  gas: EvmGasEstimate;
  nonceFloor: bigint;
}): Promise<{ nonce: number; signed: SignedTransaction }> {
  const client = evmPublicClient(options.rpcUrl);
  const pending = BigInt(await client.getTransactionCount({ address: options.from as Address, blockTag: 'pending' }));
  const nonce = Number(options.nonceFloor > pending ? options.nonceFloor : pending);
  const tx: TransactionSerializableEIP1559 = {
    type: 'eip1559',
    chainId: await client.getChainId(),
    nonce,
    to: options.call.to as Address,
    value: options.call.value,
    data: options.call.data as Hex,
    gas: options.gas.gasLimit,
    maxFeePerGas: options.gas.maxFeePerGas,
    maxPriorityFeePerGas: options.gas.maxPriorityFeePerGas,
  };
  const { raw, hash } = await signEvmTransaction(options.signer, options.key, tx);
  return { nonce, signed: { id: hash, raw } };
}
