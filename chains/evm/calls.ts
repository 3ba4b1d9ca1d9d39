// The call an EVM transfer makes: value to the recipient for the native asset, or the token
// contract's transfer(address,uint256) for an ERC-20.
import { encodeFunctionData, erc20Abi, type Address } from 'viem';

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
