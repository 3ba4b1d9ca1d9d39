// Prices from Pyth Hermes. Every observation is stored, the ones used and the ones refused, so a
// credit can name the price it used and an auditor can see why another was refused. A price is
// refused when it is too far from the time asked for (stale) or its confidence interval is too
// wide; a refused price is never used — the job fails and BullMQ retries it later.
import { HermesClient } from '@pythnetwork/hermes-client';
import { runOne, sqlBuilder, type Queryable } from '../infra/index.ts';

/** Pyth's price feed ids (research/relayer-aa-policy.md §5.2), lower-case hex without 0x. */
export const pythFeeds = {
  'BTC/USD': 'e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43',
  'ETH/USD': 'ff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace',
  'SOL/USD': 'ef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d',
  'NEAR/USD': 'c415de8d2eba7db216527dff4b60e8f3a5311c740dadb233e13e12547e226750',
} as const;

export interface PriceLimits {
  /** The largest distance between the time asked for and the price's publish time. */
  maxAgeSeconds: number;
  /** The widest confidence interval accepted, in basis points of the price. */
  maxConfBps: number;
}

export interface PriceObservation {
  id: bigint;
  feedId: string;
  price: bigint;
  conf: bigint;
  expo: number;
  publishTime: Date;
}

const priceErrorCodes = [
  // Hermes had no price for the feed at that time: nothing was stored.
  'price_missing',
  // A price came and was stored, but is too old or too uncertain to value a deposit with.
  'price_refused',
] as const;

export class PriceRefusedError extends Error {
  static readonly codes = priceErrorCodes;
  override name = 'PriceRefusedError';
  readonly code: (typeof priceErrorCodes)[number];
  readonly observationId: bigint | null;
  constructor(code: PriceRefusedError['code'], message: string, observationId: bigint | null) {
    super(message);
    this.code = code;
    this.observationId = observationId;
  }
}

/** Why a price may not be used for `at`, or null when it may. */
export function priceProblem(price: { price: bigint; conf: bigint; publishTime: Date }, at: Date, limits: PriceLimits): string | null {
  if (price.price <= 0n) return `the price is not positive (${price.price})`;
  const distance = Math.abs(price.publishTime.getTime() - at.getTime()) / 1000;
  if (distance > limits.maxAgeSeconds) {
    return `stale: published ${distance.toFixed(0)} s from ${at.toISOString()} (limit ${limits.maxAgeSeconds} s)`;
  }
  if (price.conf * 10_000n > price.price * BigInt(limits.maxConfBps)) {
    const bps = (price.conf * 10_000n) / price.price;
    return `confidence too wide: ±${bps} bp of the price (limit ${limits.maxConfBps} bp)`;
  }
  return null;
}

export class PriceSource {
  private readonly client: HermesClient;
  private readonly options: { db: Queryable; hermesUrl: string; limits: PriceLimits };

  constructor(options: { db: Queryable; hermesUrl: string; limits: PriceLimits; timeoutMs?: number }) {
    this.options = options;
    this.client = new HermesClient(options.hermesUrl, { timeout: options.timeoutMs ?? 5_000, httpRetries: 2 });
  }

  /**
   * The first price published at or after `at` (Hermes' own rule for this call), stored, then
   * checked. Throws PriceRefusedError (after storing the observation) when it may not be used.
   */
  async priceAt(feedId: string, at: Date): Promise<PriceObservation> {
    const update = await this.client.getPriceUpdatesAtTimestamp(Math.floor(at.getTime() / 1000), [feedId], { parsed: true });
    const parsed = update.parsed?.find((item) => item.id.replace(/^0x/, '').toLowerCase() === feedId);
    if (!parsed) throw new PriceRefusedError('price_missing', `Hermes returned no price for feed ${feedId}`, null);
    const price = {
      price: BigInt(parsed.price.price),
      conf: BigInt(parsed.price.conf),
      expo: parsed.price.expo,
      publishTime: new Date(parsed.price.publish_time * 1000),
    };
    const problem = priceProblem(price, at, this.options.limits);
    const { id } = await runOne(
      this.options.db,
      sqlBuilder
        .insertInto('price_observations')
        .values({ feed_id: feedId, price: price.price, conf: price.conf, expo: price.expo, publish_time: price.publishTime, requested_for: at, source: new URL(this.options.hermesUrl).host, refused_reason: problem })
        .returning('id'),
    );
    if (problem) throw new PriceRefusedError('price_refused', `price of feed ${feedId} for ${at.toISOString()} refused: ${problem}`, id);
    return { id, feedId, ...price };
  }
}
