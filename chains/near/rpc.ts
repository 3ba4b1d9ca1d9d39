// NEAR JSON-RPC, the few calls coffer makes, with a timeout on each. Errors name the method and
// nearcore's error name (`UNKNOWN_ACCESS_KEY`, `UNKNOWN_TRANSACTION`, `INVALID_TRANSACTION`, …).
import { ChainError } from '../types.ts';

const requestTimeoutMs = 30_000;

export class NearRpcError extends ChainError {
  override name = 'NearRpcError';
  /** nearcore's `cause.name` (or the error's `name`). */
  readonly causeName: string;
  readonly data: unknown;
  constructor(method: string, causeName: string, message: string, data: unknown) {
    super('near_rpc_error', `NEAR ${method}: ${causeName}${message ? ` (${message.slice(0, 300)})` : ''}`);
    this.causeName = causeName;
    this.data = data;
  }
}

export interface NearRpc {
  call<T>(method: string, params: unknown, timeoutMs?: number): Promise<T>;
}

export function nearRpc(url: string): NearRpc {
  let id = 0;
  return {
    async call<T>(method: string, params: unknown, timeoutMs = requestTimeoutMs): Promise<T> {
      id += 1;
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!response.ok) throw new NearRpcError(method, `HTTP_${response.status}`, await response.text().catch(() => ''), null);
      const body = (await response.json()) as { result?: T; error?: { name?: string; cause?: { name?: string; info?: unknown }; message?: string; data?: unknown } };
      if (body.error) {
        const error = body.error;
        throw new NearRpcError(method, error.cause?.name ?? error.name ?? 'ERROR', typeof error.data === 'string' ? error.data : JSON.stringify(error.data ?? error.cause?.info ?? error.message ?? ''), error.data ?? error.cause?.info);
      }
      // A view call that panicked comes back as a result with an `error` field.
      const result = body.result as T & { error?: unknown };
      if (result && typeof result === 'object' && 'error' in result && typeof result.error === 'string') throw new NearRpcError(method, 'QUERY_ERROR', result.error, null);
      return result;
    },
  };
}

export interface AccessKeyView {
  nonce: number | string;
  permission: 'FullAccess' | { FunctionCall: unknown };
  block_hash: string;
  block_height: number;
}

export interface AccountView {
  amount: string;
  locked: string;
  storage_usage: number;
  block_hash: string;
}

export const viewAccessKey = (rpc: NearRpc, accountId: string, publicKey: string, finality: 'final' | 'optimistic' = 'final') =>
  rpc.call<AccessKeyView>('query', { request_type: 'view_access_key', finality, account_id: accountId, public_key: publicKey });

export const viewAccount = (rpc: NearRpc, accountId: string, finality: 'final' | 'optimistic' = 'final') =>
  rpc.call<AccountView>('query', { request_type: 'view_account', finality, account_id: accountId });

/** A contract's view method, its JSON answer parsed. */
export async function callView<T>(rpc: NearRpc, contractId: string, method: string, args: unknown): Promise<T> {
  const answer = await rpc.call<{ result: number[] }>('query', {
    request_type: 'call_function',
    finality: 'final',
    account_id: contractId,
    method_name: method,
    args_base64: Buffer.from(JSON.stringify(args)).toString('base64'),
  });
  return JSON.parse(Buffer.from(answer.result).toString('utf8')) as T;
}

export const isMissing = (error: unknown, ...names: string[]) => error instanceof NearRpcError && names.includes(error.causeName);
