// The NEAR chain behind the seam. The deposit address is the user's own NEAR account (seed 004
// §3.0), so a sweep is a Transfer signed by that account's full-access key from the keystore (an
// operational payload), not by a derived MPC key. A sweep moves what the ledger holds in custody
// for the account and never takes the account below the reserve:
//   amount = min(custody − fee, balance − max(reserve, storage stake) − fee)
// The fee is paid out of the custody the ledger holds (it is booked custody → fees:near), so the
// amount plus the fee never exceed custody, and NEAR coffer itself put on the account (signing
// refills, booked to operations:near:<account>) is never swept as a deposit.
import type { Signature } from '../../signer/index.ts';
import { nearKeyName } from '../../signer/index.ts';
import { ChainError, type AssetSpec, type ChainAdapter, type ChainClient, type PlanOutcome, type TransactionStatus, type TransferRequest } from '../types.ts';
import { nearAccountCodec } from './account-id.ts';
import { isMissing, nearRpc, viewAccessKey, viewAccount, type NearRpc } from './rpc.ts';
import { nearTransaction, outcomeFeeYocto, outcomeSucceeded, sealNearTransaction, signerOfSigned, transferAction, type FinalOutcomeView } from './transaction.ts';

export const near: AssetSpec = { code: 'NEAR', scale: 24, contract: null };
/** nearcore's fees for a Transfer receipt (creation + transfer), send and execution sides together. */
export const transferGas = 2n * (108_059_500_000n + 115_123_062_500n);
/** yoctoNEAR staked per byte of account storage (nearcore's storage_amount_per_byte). */
export const storageYoctoPerByte = 10n ** 19n;
/** What a NEAR sweep leaves by default (seed 004: 0.01 NEAR). */
export const sweepReserveYoctoDefault = 10n ** 22n;

export interface NearAdapterOptions {
  /** The public key (`ed25519:…`) of the keystore key coffer signs as `accountId` with; null when none is imported. */
  keyOf?: (accountId: string) => Promise<string | null>;
  reserveYocto?: bigint;
}

/** What the chain says of a public key on an account, for key imports. */
export async function accessKeyKind(rpcUrl: string, accountId: string, publicKey: string): Promise<'full-access' | 'function-call' | 'missing'> {
  try {
    const key = await viewAccessKey(nearRpc(rpcUrl), accountId, publicKey);
    return key.permission === 'FullAccess' ? 'full-access' : 'function-call';
  } catch (error) {
    if (isMissing(error, 'UNKNOWN_ACCESS_KEY', 'UNKNOWN_ACCOUNT', 'QUERY_ERROR')) return 'missing';
    throw error;
  }
}

export async function gasPriceYocto(rpc: NearRpc): Promise<bigint> {
  return BigInt((await rpc.call<{ gas_price: string }>('gas_price', [null])).gas_price);
}

/** `tx` at FINAL: the outcome, or null while the transaction is unknown or not final yet. */
export async function finalOutcome(rpc: NearRpc, hash: string, sender?: string): Promise<FinalOutcomeView | null> {
  try {
    const outcome = await rpc.call<FinalOutcomeView>('tx', { tx_hash: hash, ...(sender ? { sender_account_id: sender } : {}), wait_until: 'FINAL' });
    return outcome.transaction_outcome ? outcome : null;
  } catch (error) {
    if (isMissing(error, 'UNKNOWN_TRANSACTION', 'TIMEOUT_ERROR')) return null;
    throw error;
  }
}

function nearClient(rpcUrl: string, options: NearAdapterOptions): ChainClient {
  const rpc = nearRpc(rpcUrl);
  const reserve = options.reserveYocto ?? sweepReserveYoctoDefault;
  // nearcore routes `tx` by its sender; broadcast (always called first by sweeps) learns it.
  const senders = new Map<string, string>();
  return {
    async balance(address, asset) {
      if (asset.contract) throw new ChainError('unsupported_asset', `NEP-141 balances (${asset.code}) are the indexer's; the NEAR adapter moves native NEAR`);
      return BigInt((await viewAccount(rpc, address)).amount);
    },

    async planTransfer(request: TransferRequest): Promise<PlanOutcome> {
      if (request.asset.contract) return { status: 'not_worth_it', reason: `${request.asset.code} (NEP-141) sweeps are not built yet; the tokens stay in custody` };
      const accountId = request.from.address;
      const publicKey = (await options.keyOf?.(accountId)) ?? null;
      if (!publicKey) throw new ChainError('no_near_key', `no key for ${accountId} in the keystore, so coffer cannot sign as it; import one with \`coffer users import-near-key\` or PUT /v1/users/:id/near-key (the deposit stays in custody)`);
      let accessKey;
      try {
        accessKey = await viewAccessKey(rpc, accountId, publicKey);
      } catch (error) {
        if (isMissing(error, 'UNKNOWN_ACCESS_KEY', 'UNKNOWN_ACCOUNT', 'QUERY_ERROR')) throw new ChainError('near_key_revoked', `the imported key ${publicKey} is no longer an access key of ${accountId}`);
        throw error;
      }
      const account = await viewAccount(rpc, accountId);
      const fee = transferGas * (await gasPriceYocto(rpc));
      const storageStake = BigInt(account.storage_usage) * storageYoctoPerByte;
      const keep = storageStake > reserve ? storageStake : reserve;
      const spendable = BigInt(account.amount) - keep - fee;
      let amount: bigint;
      if (typeof request.amount === 'bigint') {
        amount = request.amount;
        if (amount > spendable) return { status: 'needs_fee_funds', reason: `${accountId} can send ${spendable} yoctoNEAR above its ${keep} reserve, not ${amount}`, shortfall: amount - spendable };
      } else {
        const fromCustody = request.amount.cap !== undefined ? request.amount.cap - fee : spendable;
        amount = fromCustody < spendable ? fromCustody : spendable;
      }
      if (amount <= 0n) return { status: 'not_worth_it', reason: `nothing to move: ${accountId} holds ${account.amount} yoctoNEAR, keeps ${keep} and the transfer costs ${fee}` };
      const transaction = { signerId: accountId, publicKey, receiverId: request.to, nonce: BigInt(accessKey.nonce) + 1n, blockHash: accessKey.block_hash, actions: [transferAction(amount)] };
      const { borsh, hash } = nearTransaction(transaction);
      return {
        status: 'planned',
        unsigned: {
          chain: 'near',
          amount,
          asset: request.asset,
          feeMax: fee,
          payloads: [{ signer: { operational: nearKeyName(accountId) }, bytes: hash }],
          body: { signerId: accountId, receiverId: request.to, publicKey, nonce: Number(transaction.nonce), blockHash: accessKey.block_hash, transaction: Buffer.from(borsh).toString('base64') },
        },
      };
    },

    async broadcast(signed) {
      const sender = signerOfSigned(signed.raw);
      senders.set(signed.id, sender);
      if (await knownTransaction(rpc, signed.id, sender)) return { status: 'sent' };
      try {
        await rpc.call('send_tx', { signed_tx_base64: signed.raw, wait_until: 'NONE' });
        return { status: 'sent' };
      } catch (error) {
        // The same bytes sent twice (the first send did arrive) read as a used nonce: look again.
        if (await knownTransaction(rpc, signed.id, sender)) return { status: 'sent' };
        return { status: 'refused', message: error instanceof Error ? error.message : String(error) };
      }
    },

    async status(id): Promise<TransactionStatus> {
      const outcome = await finalOutcome(rpc, id, senders.get(id));
      if (!outcome) return (await knownTransaction(rpc, id, senders.get(id))) ? { status: 'mempool' } : { status: 'unknown' };
      const block = await rpc.call<{ header: { height: number } }>('block', { block_id: outcome.transaction_outcome.block_hash });
      // NEAR's finality is the chain's own signal: a FINAL outcome counts as one confirmation.
      return { status: 'included', height: BigInt(block.header.height), confirmations: 1, success: outcomeSucceeded(outcome), fee: outcomeFeeYocto(outcome) };
    },
  };
}

async function knownTransaction(rpc: NearRpc, hash: string, sender: string | undefined): Promise<boolean> {
  try {
    await rpc.call('tx', { tx_hash: hash, ...(sender ? { sender_account_id: sender } : {}), wait_until: 'NONE' });
    return true;
  } catch (error) {
    if (isMissing(error, 'UNKNOWN_TRANSACTION', 'TIMEOUT_ERROR')) return false;
    throw error;
  }
}

export function nearAdapter(options: NearAdapterOptions = {}): ChainAdapter {
  return {
    chain: 'near',
    nativeAsset: near,
    feeAsset: near,
    curve: 'ed25519',
    depositsTo: 'account',
    address: nearAccountCodec,
    finality: { kind: 'finalized-commitment' },
    connect: ({ rpcUrl }) => nearClient(rpcUrl, options),
    assemble(unsigned, signatures: Signature[]) {
      const signature = signatures[0];
      if (signatures.length !== 1 || signature?.curve !== 'ed25519') throw new ChainError('wrong_signature_count', `a NEAR transaction takes one ed25519 signature, got ${signatures.length}`);
      return sealNearTransaction(Buffer.from(String(unsigned.body.transaction), 'base64'), signature.signature);
    },
  };
}
