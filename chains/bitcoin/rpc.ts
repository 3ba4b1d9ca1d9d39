// A minimal client for Bitcoin Core's JSON-RPC that also works against bcoin 1.0.2, the devnet.
// Only the calls the indexer and sweeper need, each with parameters both nodes accept.
//
// Dialect differences met (bcoin 1.0.2 against Core 26–32; research/chains-btc-sol-near.md §1.2):
// - Transport: Core answers legacy (non-"2.0") requests that fail with HTTP 500 (404 for an
//   unknown method) and a JSON body; bcoin always answers HTTP 200. Both carry
//   `{result, error: {code, message}, id}`, so the body decides, not the status. A wrong
//   password is HTTP 401 with an empty body on both. bcoin ignores the user name entirely.
// - `getblock <hash> 0`: Core reads an int verbosity, bcoin a boolean (its validator takes 0/1
//   as booleans), so 0 works on both. Verbosity 2 fails on bcoin, hence raw blocks.
// - `getrawtransaction <txid> false` and `getrawmempool false`: booleans work on both.
// - `estimatesmartfee`: bcoin takes exactly one parameter (no mode) and answers
//   `{fee: BTC/kB | -1, blocks}`; Core answers `{feerate: BTC/kvB, blocks}` or `{errors, blocks}`.
// - "not found": Core uses -5 (RPC_INVALID_ADDRESS_OR_KEY) for an unknown transaction, block or
//   mempool entry; bcoin uses -1 (RPC_MISC_ERROR) with a message. `isNotFound` accepts both.
// - `sendrawtransaction`: bcoin returns the txid even for a transaction it rejects, and before
//   its mempool has looked at it (the relay is not awaited); see broadcast.ts.
// - `getmempoolentry`: Core has `vsize`, `weight`, `fees.base`; bcoin the old 0.15 shape with
//   `size` and `fee` (BTC). Callers use it as a presence check.
// - Stale blocks: Core keeps them readable with `confirmations: -1`. bcoin, after a reorg to a
//   longer branch, keeps serving the stale block and header with a *positive* count; after
//   `invalidateblock` it deletes the block ("Block not found", -1). Compare
//   `getblockhash(height)` with the stored hash instead (measured in regtest.test.ts).

export class BitcoinRpcError extends Error {
  static readonly codes = ['bitcoin_rpc_error'] as const;
  override name = 'BitcoinRpcError';
  readonly code = 'bitcoin_rpc_error';
  readonly method: string;
  /** Core's JSON-RPC error code (`rpcErrorCodes`). */
  readonly rpcCode: number;
  constructor(method: string, rpcCode: number, message: string) {
    super(`${method}: ${message} (code ${rpcCode})`);
    this.method = method;
    this.rpcCode = rpcCode;
  }
}

const transportErrorCodes = [
  // No answer in time, or no connection: worth trying again.
  'bitcoin_unreachable',
  // The node refused the RPC credentials: trying again will not help until they are fixed.
  'bitcoin_auth_refused',
  // An answer above responseBytesMax, or one that is not JSON-RPC: not a node coffer can use as configured.
  'bitcoin_answer_too_large',
  'bitcoin_bad_answer',
] as const;

/** The node could not be reached or answered something that is not JSON-RPC. */
export class BitcoinRpcTransportError extends Error {
  static readonly codes = transportErrorCodes;
  override name = 'BitcoinRpcTransportError';
  readonly code: (typeof transportErrorCodes)[number];
  readonly method: string;
  constructor(code: BitcoinRpcTransportError['code'], method: string, message: string, options?: { cause?: unknown }) {
    super(`${method}: ${message}`, options);
    this.code = code;
    this.method = method;
  }
}

/** Core's RPC error codes that callers branch on (src/rpc/protocol.h). */
export const rpcErrorCodes = {
  miscError: -1,
  invalidAddressOrKey: -5,
  invalidParameter: -8,
  verifyError: -25,
  verifyRejected: -26,
  verifyAlreadyInChain: -27,
} as const;

const notFoundMessages = /not found|not in mempool|no such/i;

/** Core's -5, or bcoin's -1 with a "not found" message. */
export function isNotFound(error: unknown): boolean {
  if (!(error instanceof BitcoinRpcError)) return false;
  if (error.rpcCode === rpcErrorCodes.invalidAddressOrKey) return true;
  return error.rpcCode === rpcErrorCodes.miscError && notFoundMessages.test(error.message);
}

export interface BlockHeaderInfo {
  hash: string;
  height: number;
  /** Absent on the genesis block. */
  previousblockhash?: string;
  time: number;
  /** -1 for a stale block on Core; bcoin keeps a positive count for stale blocks. Do not trust. */
  confirmations: number;
}

export interface EstimateSmartFeeResult {
  /** Core: BTC/kvB. */
  feerate?: number;
  /** bcoin: BTC/kB, or -1 without an estimate. */
  fee?: number;
  errors?: string[];
  blocks: number;
}

export interface BitcoinRpc {
  call<T>(method: string, params?: unknown[]): Promise<T>;
  getBlockCount(): Promise<number>;
  getBlockHash(height: number): Promise<string>;
  getBlockHeader(hash: string): Promise<BlockHeaderInfo>;
  /** The serialized block, hex: the one block format both nodes agree on. */
  getRawBlock(hash: string): Promise<string>;
  getRawMempool(): Promise<string[]>;
  /** The node's entry for a mempool transaction (shapes differ, see above), or null when absent. */
  getMempoolEntry(txid: string): Promise<Record<string, unknown> | null>;
  sendRawTransaction(hex: string): Promise<string>;
  estimateSmartFee(confirmationTarget: number): Promise<EstimateSmartFeeResult>;
  invalidateBlock(hash: string): Promise<void>;
  /** Serialized transaction hex, or null when the node does not know it (Core needs -txindex for mined ones, bcoin --index-tx). */
  getRawTransaction(txid: string): Promise<string | null>;
}

export interface BitcoinRpcOptions {
  /** `http://user:password@host:port`; the credentials become basic auth and never appear in errors. */
  url: string;
  timeoutMs?: number;
}

const defaultTimeoutMs = 30_000;
/** A raw block is at most 4 MB of weight, 8 MB as hex; an answer above this is not one we asked for. */
const responseBytesMax = 64 * 1024 * 1024;

export function createBitcoinRpc(options: BitcoinRpcOptions): BitcoinRpc {
  const parsed = new URL(options.url);
  const authorization = parsed.username || parsed.password
    ? `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}`
    : undefined;
  parsed.username = '';
  parsed.password = '';
  const endpoint = parsed.toString();
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  let requestId = 0;

  async function call<T>(method: string, params: unknown[] = []): Promise<T> {
    requestId += 1;
    let response: Response;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ jsonrpc: '1.0', id: requestId, method, params }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      // fetch's message may echo the request; the endpoint carries no credentials, but keep it terse.
      throw new BitcoinRpcTransportError('bitcoin_unreachable', method, `the node at ${parsed.host} did not answer: ${(error as Error).name}`, { cause: error });
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw new BitcoinRpcTransportError('bitcoin_auth_refused', method, `the node at ${parsed.host} refused the RPC credentials (HTTP ${response.status})`);
    }
    const length = Number(response.headers.get('content-length') ?? 0);
    if (length > responseBytesMax) {
      await response.body?.cancel();
      throw new BitcoinRpcTransportError('bitcoin_answer_too_large', method, `answer of ${length} bytes is above the ${responseBytesMax}-byte limit`);
    }
    const text = await response.text();
    let body: { result?: T; error?: { code?: number; message?: string } | null };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new BitcoinRpcTransportError('bitcoin_bad_answer', method, `HTTP ${response.status} without a JSON-RPC body`);
    }
    if (body.error) throw new BitcoinRpcError(method, body.error.code ?? rpcErrorCodes.miscError, body.error.message ?? 'unknown error');
    if (!response.ok) throw new BitcoinRpcTransportError('bitcoin_bad_answer', method, `HTTP ${response.status}`);
    return body.result as T;
  }

  async function orNull<T>(promise: Promise<T>): Promise<T | null> {
    try {
      return await promise;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  return {
    call,
    getBlockCount: () => call<number>('getblockcount'),
    getBlockHash: (height) => call<string>('getblockhash', [height]),
    getBlockHeader: (hash) => call<BlockHeaderInfo>('getblockheader', [hash, true]),
    getRawBlock: (hash) => call<string>('getblock', [hash, 0]),
    getRawMempool: () => call<string[]>('getrawmempool', [false]),
    getMempoolEntry: (txid) => orNull(call<Record<string, unknown>>('getmempoolentry', [txid])),
    sendRawTransaction: (hex) => call<string>('sendrawtransaction', [hex]),
    estimateSmartFee: (confirmationTarget) => call<EstimateSmartFeeResult>('estimatesmartfee', [confirmationTarget]),
    invalidateBlock: async (hash) => {
      await call<null>('invalidateblock', [hash]);
    },
    getRawTransaction: (txid) => orNull(call<string>('getrawtransaction', [txid, false])),
  };
}
