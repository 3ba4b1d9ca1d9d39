// Fees for relayed transactions. A speed resolves to EIP-1559 fees from the node's fee history
// (priority = the percentile of recent rewards the speed names, as the OpenZeppelin Relayer
// does; max fee = twice the next base fee plus that priority, room for ~6 full blocks of
// base-fee rise). Every fee is capped by the relayer's gas price cap. A resubmission bumps by
// at least 10 % + 1 wei (what nodes require to replace), or to the market, whichever is higher.
import type { PublicClient } from 'viem';

export const speeds = ['safeLow', 'average', 'fast', 'fastest'] as const;
export type Speed = (typeof speeds)[number];

const rewardPercentile: Record<Speed, number> = { safeLow: 30, average: 50, fast: 85, fastest: 99 };
/** Priority fee floor: nodes and builders commonly ignore less than this. */
const minimumPriorityFee = 1_000_000_000n;

export interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** Market fees per speed from eth_feeHistory, cached briefly so a burst of sends costs one call. */
export class FeeOracle {
  private readonly client: PublicClient;
  private readonly ttlMs: number;
  private cached: { at: number; fees: Promise<Record<Speed, Fees>> } | null = null;

  constructor(client: PublicClient, ttlMs = 1_000) {
    this.client = client;
    this.ttlMs = ttlMs;
  }

  async forSpeed(speed: Speed): Promise<Fees> {
    if (!this.cached || Date.now() - this.cached.at > this.ttlMs) {
      const fees = this.fetch();
      this.cached = { at: Date.now(), fees };
      fees.catch(() => (this.cached = null));
    }
    return (await this.cached.fees)[speed];
  }

  private async fetch(): Promise<Record<Speed, Fees>> {
    const history = await this.client.getFeeHistory({ blockCount: 4, blockTag: 'latest', rewardPercentiles: speeds.map((s) => rewardPercentile[s]) });
    const nextBase = history.baseFeePerGas.at(-1) ?? 0n;
    const result = {} as Record<Speed, Fees>;
    speeds.forEach((speed, index) => {
      const rewards = (history.reward ?? []).map((r) => r[index] ?? 0n).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const median = rewards[Math.floor(rewards.length / 2)] ?? 0n;
      const priority = median > minimumPriorityFee ? median : minimumPriorityFee;
      result[speed] = { maxFeePerGas: nextBase * 2n + priority, maxPriorityFeePerGas: priority };
    });
    return result;
  }
}

/** Fees no higher than the cap (a priority above the capped max fee comes down with it). */
export function capped(fees: Fees, cap: bigint): Fees {
  const maxFeePerGas = fees.maxFeePerGas > cap ? cap : fees.maxFeePerGas;
  const maxPriorityFeePerGas = fees.maxPriorityFeePerGas > maxFeePerGas ? maxFeePerGas : fees.maxPriorityFeePerGas;
  return { maxFeePerGas, maxPriorityFeePerGas };
}

/** The least fee that replaces `value` on a node: 10 % more, and at least 1 wei more. */
export const minBump = (value: bigint) => {
  const tenPercent = (value * 11n) / 10n;
  return tenPercent > value + 1n ? tenPercent : value + 1n;
};
const max = (a: bigint, b: bigint) => (a > b ? a : b);

/**
 * Fees that replace `previous`: at least 10 % + 1 wei above it and at least the market, never
 * above `ceiling` (the cap, and 150 % of the market as Defender bounds repricing). Null when the
 * ceiling leaves no room for a valid bump: the transaction waits at its price.
 */
export function bump(previous: Fees, market: Fees, ceiling: bigint): Fees | null {
  const maxPriorityFeePerGas = max(minBump(previous.maxPriorityFeePerGas), market.maxPriorityFeePerGas);
  const maxFeePerGas = max(max(minBump(previous.maxFeePerGas), market.maxFeePerGas), maxPriorityFeePerGas);
  if (maxFeePerGas > ceiling) return null;
  return { maxFeePerGas, maxPriorityFeePerGas };
}

/** Whether `next` replaces `previous` on a node (both fees ≥ 10 % higher). */
export function isValidBump(previous: Fees, next: Fees): boolean {
  return next.maxFeePerGas >= minBump(previous.maxFeePerGas) && next.maxPriorityFeePerGas >= minBump(previous.maxPriorityFeePerGas);
}

/** Defender's bound on repricing: up to 150 % of the market price for the speed. */
export const repriceCeiling = (market: Fees, cap: bigint): bigint => {
  const half = (market.maxFeePerGas * 3n) / 2n;
  return half < cap ? half : cap;
};
