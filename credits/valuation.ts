// What a deposit is worth in USD and in CHOCO, in integers only. Rates are configured as
// decimal strings and held as fractions; amounts are minor units; CHOCO has 18 decimals.
// Inflows are valued at price − conf, the conservative side of Pyth's confidence interval.
import { pythFeeds } from './prices.ts';

export interface Fraction {
  n: bigint;
  d: bigint;
}

export type AssetPricing =
  /** Priced by a Pyth feed at the deposit's time. */
  | { kind: 'pyth'; feedId: string }
  /** A fixed USD price per whole unit (a stablecoin on a test chain). */
  | { kind: 'usd'; perUnit: Fraction }
  /** A fixed CHOCO rate per whole unit (the MVP's 1 NEAR = 5,000 CHOCO). */
  | { kind: 'choco'; perUnit: Fraction };

export const chocoScale = 18;
export const defaultAssetPricing = 'ETH=pyth:ETH/USD,BTC=pyth:BTC/USD,SOL=pyth:SOL/USD,NEAR=pyth:NEAR/USD';
export const defaultChainMinimumsUsd = 'ethereum=1,bitcoin=1,solana=1,near=1';

export class ValuationConfigError extends Error {
  static readonly codes = ['invalid_valuation_config'] as const;
  override name = 'ValuationConfigError';
  readonly code = 'invalid_valuation_config';
}

export function parseDecimal(text: string, what: string): Fraction {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!match) throw new ValuationConfigError(`${what}: "${text}" is not a non-negative decimal number`);
  const fraction = match[2] ?? '';
  return { n: BigInt(match[1]! + fraction), d: 10n ** BigInt(fraction.length) };
}

function pairs(text: string, what: string): [string, string][] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const at = part.indexOf('=');
      if (at <= 0) throw new ValuationConfigError(`${what}: "${part}" is not NAME=VALUE`);
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()];
    });
}

/** `ETH=pyth:ETH/USD,TUSDC=usd:1,NEAR=choco:5000`; entries override the defaults per asset. */
export function parseAssetPricing(text: string | undefined): Map<string, AssetPricing> {
  const result = new Map<string, AssetPricing>();
  for (const source of [defaultAssetPricing, text ?? '']) {
    for (const [asset, rule] of pairs(source, 'CREDIT_ASSET_PRICING')) {
      const [kind, value = ''] = [rule.slice(0, rule.indexOf(':')), rule.slice(rule.indexOf(':') + 1)];
      if (kind === 'pyth') {
        const feedId = (pythFeeds as Record<string, string>)[value] ?? value.replace(/^0x/, '').toLowerCase();
        if (!/^[0-9a-f]{64}$/.test(feedId)) throw new ValuationConfigError(`CREDIT_ASSET_PRICING: ${asset}: "${value}" is neither a known pair (${Object.keys(pythFeeds).join(', ')}) nor a feed id`);
        result.set(asset, { kind: 'pyth', feedId });
      } else if (kind === 'usd' || kind === 'choco') {
        result.set(asset, { kind, perUnit: parseDecimal(value, `CREDIT_ASSET_PRICING: ${asset}`) });
      } else {
        throw new ValuationConfigError(`CREDIT_ASSET_PRICING: ${asset}: "${rule}" must be pyth:<pair|feed id>, usd:<price> or choco:<rate>`);
      }
    }
  }
  return result;
}

/** `ethereum=1,near=0.5`: the USD value below which a chain's deposits are not credited. */
export function parseChainMinimums(text: string | undefined): Map<string, Fraction> {
  const result = new Map<string, Fraction>();
  for (const source of [defaultChainMinimumsUsd, text ?? '']) {
    for (const [chain, value] of pairs(source, 'CREDIT_MINIMUM_USD')) result.set(chain, parseDecimal(value, `CREDIT_MINIMUM_USD: ${chain}`));
  }
  return result;
}

/**
 * `near=0.01,bitcoin=0.0001` (CREDIT_MINIMUM_NATIVE): per chain, the amount of its native asset,
 * in whole units, below which a native deposit is recorded but not credited. No defaults.
 */
export function parseNativeMinimums(text: string | undefined): Map<string, Fraction> {
  const result = new Map<string, Fraction>();
  for (const [chain, value] of pairs(text ?? '', 'CREDIT_MINIMUM_NATIVE')) result.set(chain, parseDecimal(value, `CREDIT_MINIMUM_NATIVE: ${chain}`));
  return result;
}

/** Whether `amount` minor units (of an asset with `assetScale` decimals) reach `minimum` whole units. */
export function reachesNativeMinimum(amount: bigint, assetScale: number, minimum: Fraction): boolean {
  return amount * minimum.d >= minimum.n * 10n ** BigInt(assetScale);
}

/** A configured rate as it was written (`5000`, `0.5`): its denominator is a power of ten. */
export function formatFraction(fraction: Fraction): string {
  const digits = fraction.d.toString().length - 1;
  const text = fraction.n.toString().padStart(digits + 1, '0');
  const whole = text.slice(0, text.length - digits);
  const rest = text.slice(text.length - digits).replace(/0+$/, '');
  return rest ? `${whole}.${rest}` : whole;
}

export interface Valuation {
  /** USD value in millionths of a dollar (floor). */
  usdMicros: bigint;
  /** CHOCO in minor units (18 decimals, floor). */
  choco: bigint;
}

/**
 * Values `amount` minor units of an asset with `assetScale` decimals. `price` is required for
 * pyth pricing: the conservative price − conf is used.
 */
export function valueDeposit(options: {
  amount: bigint;
  assetScale: number;
  pricing: AssetPricing;
  chocoPerUsd: Fraction;
  price?: { price: bigint; conf: bigint; expo: number };
}): Valuation {
  const { amount, pricing, chocoPerUsd } = options;
  const unit = 10n ** BigInt(options.assetScale);
  const chocoUnit = 10n ** BigInt(chocoScale);
  if (pricing.kind === 'choco') {
    const choco = (amount * pricing.perUnit.n * chocoUnit) / (unit * pricing.perUnit.d);
    // The USD equivalent (for the minimum) at the configured CHOCO-per-USD rate.
    const usdMicros = chocoPerUsd.n === 0n ? 0n : (choco * 1_000_000n * chocoPerUsd.d) / (chocoUnit * chocoPerUsd.n);
    return { usdMicros, choco };
  }
  // USD per whole unit as a fraction.
  let usd: Fraction;
  if (pricing.kind === 'usd') usd = pricing.perUnit;
  else {
    if (!options.price) throw new Error('a pyth-priced asset needs a price');
    const { price, conf, expo } = options.price;
    const conservative = price - conf > 0n ? price - conf : 0n;
    usd = expo >= 0 ? { n: conservative * 10n ** BigInt(expo), d: 1n } : { n: conservative, d: 10n ** BigInt(-expo) };
  }
  const usdMicros = (amount * usd.n * 1_000_000n) / (unit * usd.d);
  const choco = (amount * usd.n * chocoPerUsd.n * chocoUnit) / (unit * usd.d * chocoPerUsd.d);
  return { usdMicros, choco };
}

/** Whether a valuation reaches a minimum given in USD. */
export function reachesMinimum(valuation: Valuation, minimumUsd: Fraction): boolean {
  return valuation.usdMicros * minimumUsd.d >= minimumUsd.n * 1_000_000n;
}

export function formatUsdMicros(micros: bigint): string {
  const whole = micros / 1_000_000n;
  const cents = (micros % 1_000_000n) / 10_000n;
  return `$${whole}.${cents.toString().padStart(2, '0')}`;
}
