// One way to build a viem client for a node URL, so retries and timeouts are the same for the
// indexer's helpers, sweeps, spends and the relayer.
import { createPublicClient, http, type PublicClient } from 'viem';

export const evmRpcRetryCountMax = 2;
export const evmRpcTimeoutMs = 10_000;

export function evmPublicClient(rpcUrl: string): PublicClient {
  return createPublicClient({ transport: http(rpcUrl, { retryCount: evmRpcRetryCountMax, timeout: evmRpcTimeoutMs }) });
}
