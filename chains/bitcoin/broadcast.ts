// A broadcast counts only once the node holds the transaction. Bitcoin Core refuses a bad
// transaction in the `sendrawtransaction` answer (-25, -26), but bcoin 1.0.2 returns the txid
// at once, before its mempool has even looked at the transaction (the relay is not awaited),
// and only logs a refusal. So: send, then poll `getmempoolentry` until it appears or a
// deadline passes. Measured on the devnet: an entry can be missing right after the answer.
import { rpcErrorCodes, BitcoinRpcError, type BitcoinRpc } from './rpc.ts';

const broadcastErrorCodes = [
  // The node refused the transaction (policy, consensus, missing inputs).
  'bitcoin_broadcast_refused',
  // The node named another txid than the one coffer computed: coffer's serialization and the node's disagree.
  'bitcoin_txid_mismatch',
  // Accepted, yet not in the mempool in time: evicted, or already mined (the caller checks the chain).
  'bitcoin_not_in_mempool',
] as const;

export class BitcoinBroadcastError extends Error {
  static readonly codes = broadcastErrorCodes;
  override name = 'BitcoinBroadcastError';
  readonly code: (typeof broadcastErrorCodes)[number];
  readonly txid: string;
  constructor(code: BitcoinBroadcastError['code'], txid: string, message: string, options?: { cause?: unknown }) {
    super(`transaction ${txid}: ${message}`, options);
    this.code = code;
    this.txid = txid;
  }
}

export type BroadcastOutcome = 'in-mempool' | 'already-in-chain';

const defaultAcceptanceTimeoutMs = 5_000;
const pollIntervalMs = 25;

export async function broadcastTransaction(params: { rpc: BitcoinRpc; hex: string; txid: string; acceptanceTimeoutMs?: number }): Promise<BroadcastOutcome> {
  const { rpc, txid } = params;
  try {
    const answered = await rpc.sendRawTransaction(params.hex);
    if (answered !== txid) throw new BitcoinBroadcastError('bitcoin_txid_mismatch', txid, `the node answered txid ${answered}`);
  } catch (error) {
    if (error instanceof BitcoinRpcError && error.rpcCode === rpcErrorCodes.verifyAlreadyInChain) return 'already-in-chain';
    if (error instanceof BitcoinRpcError) throw new BitcoinBroadcastError('bitcoin_broadcast_refused', txid, `refused: ${error.message}`, { cause: error });
    throw error;
  }
  const deadline = Date.now() + (params.acceptanceTimeoutMs ?? defaultAcceptanceTimeoutMs);
  for (;;) {
    if (await rpc.getMempoolEntry(txid)) return 'in-mempool';
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
  }
  throw new BitcoinBroadcastError('bitcoin_not_in_mempool', txid, 'the node answered the broadcast but its mempool does not hold the transaction (refused, or already mined)');
}
