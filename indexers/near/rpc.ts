// NEAR JSON-RPC for the indexer: named-object params, and nearcore's error envelope turned into
// an error that keeps its cause name (UNKNOWN_BLOCK marks a height without a block).
export class NearRpcError extends Error {
  static readonly codes = ['near_rpc_error'] as const;
  override name = 'NearRpcError';
  readonly code = 'near_rpc_error';
  readonly causeName: string;
  constructor(method: string, causeName: string, message: string) {
    super(`${method}: ${causeName}: ${message}`);
    this.causeName = causeName;
  }
}

export type NearRpc = <T>(method: string, params: Record<string, unknown>) => Promise<T>;

export function nearRpc(url: string, timeoutMs = 10_000): NearRpc {
  let id = 0;
  return async <T>(method: string, params: Record<string, unknown>): Promise<T> => {
    id += 1;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new NearRpcError(method, `HTTP_${response.status}`, 'the RPC refused the request');
    const body = (await response.json()) as { result?: T; error?: { name?: string; cause?: { name?: string }; message?: string; data?: unknown } };
    if (body.error) {
      const detail = typeof body.error.data === 'string' ? body.error.data : (body.error.message ?? 'error');
      throw new NearRpcError(method, body.error.cause?.name ?? body.error.name ?? 'UNKNOWN', detail);
    }
    return body.result as T;
  };
}

/** The parts of nearcore's views the indexer reads. */
export interface BlockView {
  header: { height: number; hash: string; prev_hash: string; timestamp_nanosec: string };
  chunks: { chunk_hash: string; height_included: number; shard_id: number }[];
}

export type ActionView = 'CreateAccount' | { Transfer?: { deposit: string }; FunctionCall?: { method_name: string; args: string; gas: number; deposit: string } } | Record<string, unknown>;

export interface ReceiptView {
  predecessor_id: string;
  receiver_id: string;
  receipt_id: string;
  receipt: { Action?: { signer_id: string; actions: ActionView[] }; Data?: unknown };
}

export interface ChunkView {
  transactions: { hash: string; signer_id: string; receiver_id: string }[];
  receipts: ReceiptView[];
}

export type ExecutionStatusView = { SuccessValue: string } | { SuccessReceiptId: string } | { Failure: unknown } | 'Unknown';

export interface OutcomeView {
  id: string;
  block_hash: string;
  outcome: { executor_id: string; logs: string[]; receipt_ids: string[]; status: ExecutionStatusView };
}

export interface TxStatusView {
  transaction: { hash: string };
  receipts_outcome: OutcomeView[];
  receipts?: ReceiptView[];
}
