// Valuation in integers: configuration parsing with clear errors, and the arithmetic checked
// against an independent computation (exact rationals) over generated inputs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatFraction, parseAssetPricing, parseChainMinimums, parseDecimal, parseNativeMinimums, reachesMinimum, reachesNativeMinimum, valueDeposit, ValuationConfigError } from './valuation.ts';
import { priceProblem, pythFeeds } from './prices.ts';

describe('valuation', () => {
  test('configuration: defaults, overrides and clear errors', () => {
    const pricing = parseAssetPricing('TUSDC=usd:1,NEAR=choco:5000');
    assert.deepEqual(pricing.get('ETH'), { kind: 'pyth', feedId: pythFeeds['ETH/USD'] });
    assert.deepEqual(pricing.get('NEAR'), { kind: 'choco', perUnit: { n: 5000n, d: 1n } });
    assert.deepEqual(pricing.get('TUSDC'), { kind: 'usd', perUnit: { n: 1n, d: 1n } });
    assert.deepEqual(parseDecimal('0.25', 'x'), { n: 25n, d: 100n });
    assert.deepEqual(parseChainMinimums('near=0.5').get('near'), { n: 5n, d: 10n });
    assert.deepEqual(parseChainMinimums(undefined).get('ethereum'), { n: 1n, d: 1n });
    assert.throws(() => parseAssetPricing('ETH=pyth:DOGE/USD'), (e: Error) => e instanceof ValuationConfigError && /neither a known pair/.test(e.message));
    assert.throws(() => parseAssetPricing('ETH=fixed:3'), /must be pyth:<pair\|feed id>, usd:<price> or choco:<rate>/);
    assert.throws(() => parseAssetPricing('ETH'), /is not NAME=VALUE/);
    assert.throws(() => parseChainMinimums('ethereum=-1'), /not a non-negative decimal/);
  });

  test('CHOCO = floor(amount × (price − conf) × rate), exactly, for any inputs', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 30n }),
        fc.bigInt({ min: 1n, max: 10n ** 15n }),
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.integer({ min: -12, max: 2 }),
        fc.integer({ min: 0, max: 24 }),
        fc.bigInt({ min: 1n, max: 10_000n }),
        (amount, price, conf, expo, assetScale, rate) => {
          const v = valueDeposit({ amount, assetScale, pricing: { kind: 'pyth', feedId: 'x' }, chocoPerUsd: { n: rate, d: 1n }, price: { price, conf, expo } });
          const usable = price > conf ? price - conf : 0n;
          // value = amount / 10^scale × usable × 10^expo USD; choco = value × rate × 10^18
          const num = amount * usable * rate * 10n ** 18n * (expo > 0 ? 10n ** BigInt(expo) : 1n);
          const den = 10n ** BigInt(assetScale) * (expo < 0 ? 10n ** BigInt(-expo) : 1n);
          assert.equal(v.choco, num / den);
          assert.ok(v.usdMicros >= 0n);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('minimums and price checks', () => {
    const dollar = valueDeposit({ amount: 1_000_000n, assetScale: 6, pricing: { kind: 'usd', perUnit: { n: 1n, d: 1n } }, chocoPerUsd: { n: 100n, d: 1n } });
    assert.equal(dollar.usdMicros, 1_000_000n);
    assert.equal(reachesMinimum(dollar, { n: 1n, d: 1n }), true);
    assert.equal(reachesMinimum(dollar, { n: 101n, d: 100n }), false);
    const at = new Date('2026-11-21T00:00:00Z');
    const ok = { price: 315_000_000_000n, conf: 100_000_000n, publishTime: new Date(at.getTime() + 2_000) };
    assert.equal(priceProblem(ok, at, { maxAgeSeconds: 60, maxConfBps: 200 }), null);
    assert.match(priceProblem({ ...ok, publishTime: new Date(at.getTime() + 61_000) }, at, { maxAgeSeconds: 60, maxConfBps: 200 }) ?? '', /^stale/);
    assert.match(priceProblem({ ...ok, conf: 7_000_000_000n }, at, { maxAgeSeconds: 60, maxConfBps: 200 }) ?? '', /confidence too wide: ±222 bp/);
    assert.match(priceProblem({ ...ok, price: 0n }, at, { maxAgeSeconds: 60, maxConfBps: 200 }) ?? '', /not positive/);
  });

  test('the MVP rules: NEAR=choco:5000 exactly, and native minimums in whole units (CREDIT_MINIMUM_NATIVE)', () => {
    const pricing = parseAssetPricing('NEAR=choco:5000').get('NEAR')!;
    const yocto = 10n ** 24n;
    const one = valueDeposit({ amount: yocto, assetScale: 24, pricing, chocoPerUsd: { n: 100n, d: 1n } });
    assert.equal(one.choco, 5_000n * 10n ** 18n);
    // 1.234567 NEAR → 6,172.835 CHOCO, no rounding on the way.
    assert.equal(valueDeposit({ amount: 1_234_567n * 10n ** 18n, assetScale: 24, pricing, chocoPerUsd: { n: 100n, d: 1n } }).choco, 6_172_835n * 10n ** 15n);
    const minimums = parseNativeMinimums('near=0.01,bitcoin=0.0001');
    assert.deepEqual(minimums.get('near'), { n: 1n, d: 100n });
    assert.equal(parseNativeMinimums(undefined).size, 0, 'no defaults');
    assert.throws(() => parseNativeMinimums('near=abc'), /CREDIT_MINIMUM_NATIVE: near: "abc" is not a non-negative decimal/);
    assert.equal(reachesNativeMinimum(yocto / 100n, 24, minimums.get('near')!), true, '0.01 NEAR reaches it');
    assert.equal(reachesNativeMinimum((9n * yocto) / 1000n, 24, minimums.get('near')!), false, '0.009 NEAR does not');
    assert.equal(formatFraction(parseDecimal('5000', 'x')), '5000');
    assert.equal(formatFraction(parseDecimal('0.050', 'x')), '0.05');
  });
});
