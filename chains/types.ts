// The chain seam: what sweeps, agent spends, refills and the relayer need from a chain, in
// words that fit every chain coffer supports. A chain is a folder (`chains/<chain>/`) that
// implements `ChainAdapter`, plus one line in `chains/registry.ts`. Nothing outside those
// folders knows how a chain encodes an address, prices a fee or serializes a transaction.
//
// A transfer goes through the same five steps on every chain (ADR 0008):
//   plan      adapter.connect(rpc).planTransfer(…)  → an unsigned transaction + what to sign
//   sign      each payload through the Signer (derived keys) or a keystore key (fee payers)
//   assemble  adapter.assemble(unsigned, signatures) → the bytes to broadcast and their id
//   store     the caller commits the signed bytes with its ledger entry (never before signing,
//             always before broadcasting: a retry re-broadcasts, it never signs twice)
//   follow    client.broadcast(signed) (idempotent) and client.status(id) until final
import { CodedError } from '../infra/index.ts';
import type { Curve, KeyReference, Signature } from '../signer/index.ts';

/** An asset as the ledger registers it: a code and a fixed number of decimals. */
export interface AssetSpec {
  code: string;
  scale: number;
  /** The token's contract / mint / account on its chain; null for the chain's native asset. */
  contract: string | null;
}

/** How a chain's deposits become final: a block depth, or the chain's own finality signal. */
export type FinalityRule = { kind: 'depth'; blocks: number } | { kind: 'finalized-commitment' };

/** Address encoding. Every function is pure: no RPC. */
export interface AddressCodec {
  /**
   * The address a derived public key controls (uncompressed SEC1 for secp256k1, 32 bytes for
   * ed25519). `network` names the chain's own network where the spelling depends on it (Bitcoin:
   * mainnet, testnet, regtest); a chain whose addresses look the same everywhere ignores it.
   */
  fromPublicKey(publicKey: Uint8Array, network?: string): string;
  /** True when `text` is a well-formed address of this chain. */
  isValid(text: string): boolean;
  /**
   * The one spelling the ledger and the database store (EVM: lower case). Input from users,
   * operators and nodes is normalized with this before it is compared or stored.
   * Throws `InvalidAddressError` for a malformed address.
   */
  canonical(text: string): string;
  /** The URI a wallet app opens from a QR code (EIP-681, BIP-21, Solana Pay, …). */
  paymentUri(options: { address: string; amount?: bigint; asset?: AssetSpec }): string;
}

/** What one transaction must have signed before it can be broadcast. */
export interface SigningPayload {
  /** Who signs: a derived key (through the Signer) or an operational key of the keystore. */
  signer: { derived: KeyReference } | { operational: string };
  /** secp256k1: a 32-byte digest; ed25519: the message bytes. */
  bytes: Uint8Array;
}

/** A planned transaction: chain-specific body, chain-neutral figures. */
export interface UnsignedTransaction {
  chain: string;
  /** What reaches the recipient, in the transferred asset's minor units. */
  amount: bigint;
  asset: AssetSpec;
  /** The most the transaction can cost, in the chain's fee asset. */
  feeMax: bigint;
  payloads: SigningPayload[];
  /** JSON-safe chain-specific detail (nonce, inputs, blockhash, …), for logs and for `assemble`. */
  body: Record<string, string | number | boolean | null>;
}

export interface SignedTransaction {
  /** The chain's transaction id (EVM hash, Bitcoin txid, Solana signature, NEAR hash). */
  id: string;
  /** The bytes to broadcast, hex (0x-prefixed on EVM). */
  raw: string;
}

export type BroadcastOutcome = { status: 'sent' } | { status: 'refused'; message: string };

export type TransactionStatus =
  | { status: 'unknown' }
  | { status: 'mempool' }
  | {
      status: 'included';
      height: bigint;
      confirmations: number;
      success: boolean;
      /** What it cost, in the fee asset. */
      fee: bigint;
      /** Fee-asset units the fee payer got back beside the fee (Solana: rent of accounts it closed, less rent put into accounts it opened); negative when it paid in. */
      rentReclaimed?: bigint;
    };

export interface TransferRequest {
  from: { address: string; key: KeyReference };
  to: string;
  asset: AssetSpec;
  /**
   * An exact amount, or everything the address holds of the asset (at most `cap`), minus the fee
   * when the asset pays the fee, and minus the fees of `keepFeesForTransfers` later token
   * transfers (tokens still to leave the address need them).
   */
  amount: bigint | { all: true; cap?: bigint; /** Later token transfers from the same address whose fees are kept back. */ keepFeesForTransfers?: number };
  /** The most of the fee asset this transfer may spend on its fee (the ledger's view of the sender). */
  feeFundsMax?: bigint;
}

export type PlanOutcome =
  | { status: 'planned'; unsigned: UnsignedTransaction }
  /** Moving it would cost more than it is worth (or nothing is there); it stays where it is. */
  | { status: 'not_worth_it'; reason: string }
  /** The sender lacks fee money; `shortfall` fee-asset units would let it move (a refill). */
  | { status: 'needs_fee_funds'; reason: string; shortfall: bigint };

/** The RPC-bound half of an adapter: one per node URL. */
export interface ChainClient {
  balance(address: string, asset: AssetSpec): Promise<bigint>;
  planTransfer(request: TransferRequest): Promise<PlanOutcome>;
  /** Sends the stored bytes; sending what the node already has (or mined) is `sent`. */
  broadcast(signed: SignedTransaction): Promise<BroadcastOutcome>;
  status(id: string): Promise<TransactionStatus>;
}

export interface ChainAdapter {
  /** The chain's name in account paths, deposit addresses and configuration: `ethereum`. */
  readonly chain: string;
  readonly nativeAsset: AssetSpec;
  /** The asset fees are paid in (on every chain so far, the native one). */
  readonly feeAsset: AssetSpec;
  /** The curve of the keys that control this chain's addresses. */
  readonly curve: Curve;
  /**
   * Where a user's deposits on this chain go: an address derived from the user's NEAR account
   * (the default), or that NEAR account itself (`'account'`: NEAR, seed 004 §3.0).
   */
  readonly depositsTo?: 'derived-address' | 'account';
  readonly address: AddressCodec;
  readonly finality: FinalityRule;
  connect(settings: { rpcUrl: string }): ChainClient;
  /** Puts the signatures into the transaction (in `payloads` order). */
  assemble(unsigned: UnsignedTransaction, signatures: Signature[]): SignedTransaction;
}

export class InvalidAddressError extends Error {
  static readonly codes = ['invalid_address'] as const;
  override name = 'InvalidAddressError';
  readonly code = 'invalid_address';
}

const chainErrorCodes = [
  'blockhash_expired',
  'consolidation_only',
  'fee_payer_short',
  'insufficient_balance',
  'near_key_revoked',
  'near_rpc_error',
  'no_address_index',
  'no_near_key',
  'no_operational_key',
  'simulation_failed',
  'unknown_network',
  'unsupported_asset',
  'unsupported_chain',
  'wrong_curve',
  'wrong_signature',
  'wrong_signature_count',
] as const;

export type ChainErrorCode = (typeof chainErrorCodes)[number];

/** A chain adapter refused or failed an operation; `simulation_failed` and `near_rpc_error` come from its subclasses. */
export class ChainError extends CodedError<ChainErrorCode> {
  static readonly codes = chainErrorCodes;
  override name = 'ChainError';
}

/** The node simulated the call and it would fail (reverts, or the sender cannot pay). */
export class SimulationError extends ChainError {
  override name = 'SimulationError';
  constructor(message: string | undefined) {
    super('simulation_failed', message ?? 'the call would fail');
  }
}
