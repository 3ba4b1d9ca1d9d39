// Gas for an arbitrary EVM call (an agent wallet's spend): the node's estimate × 1.2 and its
// EIP-1559 fees. A node that answers that the call reverts is a failed simulation (the caller
// rejects the spend); a node that does not answer is an error (the caller retries).
import type { Address, Hex } from 'viem';
import { SimulationError } from '../types.ts';
import { evmPublicClient } from './client.ts';

export interface EvmCall {
  from: string;
  to: string;
  value: bigint;
  data: string;
}

export interface EvmGasEstimate {
  gasLimit: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** Gas estimates are raised by this much (percent) for the state the call may find when it runs. */
export const callGasHeadroomPercent = 120n;

export function evmGasEstimator(rpcUrl: string): (call: EvmCall) => Promise<EvmGasEstimate> {
  const client = evmPublicClient(rpcUrl);
  return async (call) => {
    let gas: bigint;
    try {
      gas = await client.estimateGas({ account: call.from as Address, to: call.to as Address, value: call.value, data: call.data as Hex });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (/revert|insufficient funds|exceeds balance/i.test(message)) throw new SimulationError(message.split('\n')[0]);
      throw error;
    }
    const fees = await client.estimateFeesPerGas();
    return { gasLimit: (gas * callGasHeadroomPercent) / 100n, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas };
  };
}
