// The sweep's fee rate: the node's `estimatesmartfee`, clamped between a floor and a cap, or
// a fallback when the node has no estimate. Regtest never has one, bcoin answers `fee: -1`
// (or an error when its estimator is off), Core answers `errors` without `feerate`; a young
// mainnet node is the same. Rates are sat/kvB as bigint, so 1.5 sat/vB is 1500n: the RPC's
// BTC/kvB amounts convert exactly and no float survives past parsing.
import { CodedError } from '../../infra/index.ts';
import { BitcoinRpcError, type BitcoinRpc, type EstimateSmartFeeResult } from './rpc.ts';

const feeErrorCodes = [
  // A fee setting (rate, floor, cap, target) is wrong: fix the configuration.
  'invalid_bitcoin_fee',
  // The node answered a rate that is not one: a node to look at, not a setting.
  'invalid_node_fee_rate',
] as const;

export class BitcoinFeeError extends CodedError<(typeof feeErrorCodes)[number]> {
  static readonly codes = feeErrorCodes;
  override name = 'BitcoinFeeError';
}

export interface FeeRatePolicy {
  /** Blocks within which the sweep should confirm; Core accepts 1–1008. */
  confirmationTarget: number;
  minSatKvb: bigint;
  maxSatKvb: bigint;
  /** Used when the node has no estimate; clamped like an estimate. */
  fallbackSatKvb: bigint;
}

export interface FeeRateChoice {
  feeRateSatKvb: bigint;
  source: 'estimate' | 'fallback';
  /** Set when the floor or the cap changed the rate. */
  clampedFrom?: bigint;
}

const confirmationTargetMax = 1_008;

/** A decimal sat/vB setting ("2", "1.5", "0.1") as sat/kvB, exactly. */
export function satVbToSatKvb(satVb: string): bigint {
  const match = /^(\d+)(?:\.(\d{1,3}))?$/.exec(satVb.trim());
  if (!match) throw new BitcoinFeeError('invalid_bitcoin_fee', `'${satVb}' is not a sat/vB rate with at most 3 decimals`);
  return BigInt(match[1]!) * 1000n + BigInt((match[2] ?? '').padEnd(3, '0'));
}

/** A BTC amount per kvB from the RPC (a JSON number with at most 8 decimals) as sat/kvB. */
export function btcPerKvbToSatKvb(btcPerKvb: number): bigint {
  if (!Number.isFinite(btcPerKvb) || btcPerKvb < 0) throw new BitcoinFeeError('invalid_node_fee_rate', `${btcPerKvb} is not a fee rate`);
  // toFixed(8) rounds the double to the satoshi grid the node printed it from.
  const [whole, fraction] = btcPerKvb.toFixed(8).split('.') as [string, string];
  return BigInt(whole) * 100_000_000n + BigInt(fraction);
}

/** The estimate in sat/kvB from either dialect, or null when the node has none. */
export function estimateFromResult(result: EstimateSmartFeeResult): bigint | null {
  if (typeof result.feerate === 'number' && result.feerate > 0) return btcPerKvbToSatKvb(result.feerate);
  if (typeof result.fee === 'number' && result.fee > 0) return btcPerKvbToSatKvb(result.fee);
  return null;
}

export function assertFeeRatePolicy(policy: FeeRatePolicy): void {
  if (!Number.isInteger(policy.confirmationTarget) || policy.confirmationTarget < 1 || policy.confirmationTarget > confirmationTargetMax) {
    throw new BitcoinFeeError('invalid_bitcoin_fee', `the confirmation target must be 1 to ${confirmationTargetMax} blocks`);
  }
  if (policy.minSatKvb < 1n) throw new BitcoinFeeError('invalid_bitcoin_fee', 'the fee rate floor must be at least 1 sat/kvB');
  if (policy.maxSatKvb < policy.minSatKvb) throw new BitcoinFeeError('invalid_bitcoin_fee', 'the fee rate cap is below the floor');
}

function clamp(rate: bigint, source: FeeRateChoice['source'], policy: FeeRatePolicy): FeeRateChoice {
  const clamped = rate < policy.minSatKvb ? policy.minSatKvb : rate > policy.maxSatKvb ? policy.maxSatKvb : rate;
  return clamped === rate ? { feeRateSatKvb: rate, source } : { feeRateSatKvb: clamped, source, clampedFrom: rate };
}

/** Asks the node; only an RPC-level refusal means "no estimate" (a transport failure is thrown: the node is down, not estimate-less). */
export async function chooseFeeRate(params: { rpc: BitcoinRpc; policy: FeeRatePolicy }): Promise<FeeRateChoice> {
  assertFeeRatePolicy(params.policy);
  let estimate: bigint | null;
  try {
    estimate = estimateFromResult(await params.rpc.estimateSmartFee(params.policy.confirmationTarget));
  } catch (error) {
    if (!(error instanceof BitcoinRpcError)) throw error;
    estimate = null;
  }
  return estimate === null ? clamp(params.policy.fallbackSatKvb, 'fallback', params.policy) : clamp(estimate, 'estimate', params.policy);
}
