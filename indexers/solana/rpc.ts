// A bare Solana JSON-RPC caller: the indexer reads a lot of blocks, and plain JSON (numbers as
// numbers) is what it needs; errors keep the node's code, because "slot skipped" is an answer.
export type SolanaRpc = <T>(method: string, params?: unknown[]) => Promise<T>;

/** agave's codes for a slot without a block: skipped, or not (yet / any longer) available. */
export const noBlockCodes = new Set([-32004, -32007, -32009]);

const solanaRpcErrorCodes = [
  // The node answered the call with a JSON-RPC error (rpcCode is agave's: a skipped slot is an answer).
  'solana_rpc_error',
  // The endpoint answered HTTP, not JSON-RPC (rate limited, overloaded, down; rpcCode is the HTTP status): try again later.
  'solana_unavailable',
] as const;

export class SolanaRpcError extends Error {
  static readonly codes = solanaRpcErrorCodes;
  override name = 'SolanaRpcError';
  readonly code: (typeof solanaRpcErrorCodes)[number];
  /** The node's JSON-RPC error code, or the HTTP status for `solana_unavailable`. */
  readonly rpcCode: number;
  constructor(code: SolanaRpcError['code'], method: string, rpcCode: number, message: string) {
    super(`${method}: ${message}`);
    this.code = code;
    this.rpcCode = rpcCode;
  }
}

export function solanaRpc(url: string, timeoutMs = 10_000): SolanaRpc {
  let id = 0;
  return async <T>(method: string, params: unknown[] = []): Promise<T> => {
    id += 1;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new SolanaRpcError('solana_unavailable', method, response.status, `the RPC answered HTTP ${response.status}`);
    const body = (await response.json()) as { result?: T; error?: { code: number; message: string } };
    if (body.error) throw new SolanaRpcError('solana_rpc_error', method, body.error.code, body.error.message);
    return body.result as T;
  };
}
