// The one table from domain error codes to HTTP statuses. Domain rooms name what went wrong with a
// stable `code` and know nothing of HTTP; this file decides what each code means to a client.
// Every class lists its codes in `static codes`, and `statusTable` must give each a status: a new
// code without one fails the typecheck and error-codes.test.ts (LedgerInputError's are all 422 by
// rule). A 500 here means "our fault": the API then answers `internal_error` and never the
// message, which may name internals.
import { ApiKeyError } from '../access/index.ts';
import { BitcoinAddressError, BitcoinBlockError, BitcoinBroadcastError, BitcoinFeeError, BitcoinRpcError, BitcoinRpcTransportError, BitcoinTransactionError, ChainError, InvalidAddressError } from '../chains/index.ts';
import { PriceRefusedError, ValuationConfigError } from '../credits/index.ts';
import { IndexerStoppedError, NearIndexerRpcError, RewindError, SolanaFundingError, SolanaRpcError } from '../indexers/index.ts';
import { ConfigError, JobPayloadError } from '../infra/index.ts';
import { LedgerClosedError, LedgerInputError, LedgerOverloadedError, LedgerRefusedError } from '../ledger/index.ts';
import { MigrationError } from '../migrations/index.ts';
import { RelayError } from '../relayer/index.ts';
import { RemoteSignerError } from '../remote-signer/index.ts';
import { RotationError } from '../rotations/index.ts';
import { DerivationError, KeystoreError, NearKeyError, SignerError } from '../signer/index.ts';
import { SponsorError } from '../sponsor/index.ts';
import { NearFundingError, SweepError } from '../sweeps/index.ts';
import { UserError } from '../users/index.ts';
import { WalletError } from '../wallets/index.ts';

export type ProblemStatus = 400 | 403 | 404 | 409 | 422 | 500 | 502 | 503;

/** A domain error class: its instances carry one of the codes it lists. */
export interface CodedErrorClass<Code extends string> {
  readonly name: string;
  readonly codes: readonly Code[];
  readonly prototype: Error & { readonly code: Code };
}

interface Row<Code extends string> {
  errorClass: CodedErrorClass<Code>;
  statuses: Record<Code, ProblemStatus>;
}

function row<Code extends string>(errorClass: CodedErrorClass<Code>, statuses: Record<NoInfer<Code>, ProblemStatus>): Row<string> {
  return { errorClass, statuses };
}

function sameStatus<Code extends string>(errorClass: CodedErrorClass<Code>, status: ProblemStatus): Record<Code, ProblemStatus> {
  return Object.fromEntries(errorClass.codes.map((code) => [code, status])) as Record<Code, ProblemStatus>;
}

export const statusTable: readonly Row<string>[] = [
  // The ledger refuses an input only for the input's sake: every code of it is the client's to fix.
  row(LedgerInputError, sameStatus(LedgerInputError, 422)),
  // The client should retry later (the API adds Retry-After).
  row(LedgerOverloadedError, { ledger_overloaded: 503 }),
  row(LedgerClosedError, { ledger_closed: 503 }),
  row(LedgerRefusedError, { ledger_refused: 500 }),
  row(UserError, { user_exists: 409, invalid_near_account: 422, user_not_found: 404, unknown_chain: 404 }),
  row(WalletError, {
    forbidden: 403,
    wallet_not_found: 404,
    spend_not_found: 404,
    wallet_exists: 409,
    wallet_frozen: 409,
    approval_expired: 409,
    idempotency_conflict: 409,
    spend_not_awaiting_approval: 409,
    invalid_idempotency_key: 422,
    invalid_spend: 422,
    invalid_wallet_id: 422,
    unknown_asset: 422,
    // The wallet's owner named in the request does not exist: a field of the request, not the path.
    user_not_found: 422,
    webhook_root_overlapping: 409,
    approval_not_due: 500,
    not_confirmed: 500,
    webhook_failed: 500,
    ledger_refused: 500,
    spend_state_invalid: 500,
  }),
  // The Defender-compatible relayer's answers: Defender's clients see these exact statuses.
  row(RelayError, {
    invalid_request: 400,
    invalid_signature: 400,
    invalid_target: 400,
    invalid_refill: 400,
    deadline_too_soon: 400,
    gas_too_high: 400,
    insufficient_funds: 400,
    not_a_funding: 400,
    not_mined: 400,
    receiver_not_allowed: 400,
    relayer_paused: 400,
    replacement_underpriced: 400,
    unsupported_chain: 400,
    value_not_sponsored: 400,
    target_not_allowed: 403,
    at_gas_price_cap: 409,
    nonce_taken: 409,
    nonce_used: 409,
    transaction_final: 409,
    no_relayer: 503,
    relayer_not_found: 404,
    rotation_in_progress: 409,
    refill_in_flight: 409,
    treasury_not_configured: 409,
    treasury_unbooked: 409,
  }),
  row(RemoteSignerError, { invalid_params: 400, unknown_key: 404, not_found: 404, conflict: 409, policy_refused: 403, key_unavailable: 503, unavailable: 503 }),
  row(SponsorError, { invalid_user_operation: 422, invalid_params: 400, invalid_policy: 422, invalid_signature: 422, not_configured: 503 }),
  row(RotationError, { key_not_found: 404, invalid_overlap: 400, key_already_rotated: 409, rotation_refused: 409 }),
  row(NearKeyError, { invalid_near_key: 400, not_full_access: 422, near_key_conflict: 409, near_unreachable: 502 }),
  row(ApiKeyError, { invalid_role: 422, invalid_key_owner: 422 }),
  row(InvalidAddressError, { invalid_address: 422 }),
  row(BitcoinAddressError, { invalid_bitcoin_address: 422, wrong_bitcoin_network: 422, invalid_bitcoin_key: 500 }),
  // What follows fails in jobs, indexers, the CLI or at start; should one reach a request, it is ours.
  row(ChainError, {
    blockhash_expired: 500,
    consolidation_only: 500,
    fee_payer_short: 500,
    insufficient_balance: 500,
    near_key_revoked: 500,
    near_rpc_error: 500,
    no_address_index: 500,
    no_near_key: 500,
    no_operational_key: 500,
    simulation_failed: 500,
    unknown_network: 500,
    unsupported_asset: 500,
    unsupported_chain: 500,
    wrong_curve: 500,
    wrong_signature: 500,
    wrong_signature_count: 500,
  }),
  row(BitcoinBlockError, { invalid_bitcoin_block: 500, bitcoin_block_mismatch: 500 }),
  row(BitcoinBroadcastError, { bitcoin_broadcast_refused: 500, bitcoin_txid_mismatch: 500, bitcoin_not_in_mempool: 500 }),
  row(BitcoinTransactionError, sameStatus(BitcoinTransactionError, 500)),
  row(BitcoinFeeError, { invalid_bitcoin_fee: 500, invalid_node_fee_rate: 500 }),
  row(BitcoinRpcError, { bitcoin_rpc_error: 500 }),
  row(BitcoinRpcTransportError, sameStatus(BitcoinRpcTransportError, 500)),
  row(PriceRefusedError, { price_missing: 500, price_refused: 500 }),
  row(ValuationConfigError, { invalid_valuation_config: 500 }),
  row(IndexerStoppedError, { indexer_stopped: 500, deep_reorg: 500 }),
  row(RewindError, { rewind_refused: 500, nothing_to_rescan: 500 }),
  row(NearIndexerRpcError, { near_rpc_error: 500 }),
  row(SolanaFundingError, { funding_not_finalized: 500, not_a_fee_payer_funding: 500 }),
  row(NearFundingError, { funding_not_final: 500, not_a_funding: 500 }),
  row(SolanaRpcError, { solana_rpc_error: 500, solana_unavailable: 500 }),
  row(ConfigError, { invalid_config: 500 }),
  row(JobPayloadError, { unknown_job: 500, invalid_job_payload: 500 }),
  row(MigrationError, sameStatus(MigrationError, 500)),
  row(DerivationError, sameStatus(DerivationError, 500)),
  row(KeystoreError, sameStatus(KeystoreError, 500)),
  // A signer that cannot be reached now may answer later; anything else it refused is ours.
  row(SignerError, { signer_unavailable: 503, no_signing_key: 500, wrong_curve: 500, invalid_payload: 500, invalid_signature: 500 }),
  row(SweepError, { ledger_refused: 500, broadcast_refused: 500, not_confirmed: 500, transaction_failed: 500, already_in_sweep: 500 }),
];

const rowByClass = new Map<unknown, Row<string>>(statusTable.map((entry) => [entry.errorClass, entry]));

/** The status for a domain error (its nearest class in the table), or undefined for anything else. */
export function domainErrorStatus(error: unknown): { status: ProblemStatus; code: string } | undefined {
  if (!(error instanceof Error)) return undefined;
  for (let proto: object | null = Object.getPrototypeOf(error) as object | null; proto; proto = Object.getPrototypeOf(proto) as object | null) {
    const entry = rowByClass.get(proto.constructor);
    if (!entry) continue;
    const { code } = error as Error & { code: string };
    const status = entry.statuses[code];
    // A code outside the class's list would be a typecheck failure; at run time it is ours, so 500.
    return { status: status ?? 500, code };
  }
  return undefined;
}
