// The credits room's front door: Pyth prices, valuation in integers, and CHOCO credits of
// confirmed deposits and their reversal. jobs/ runs them as workers; web/ and api/ read decisions.
export { PriceSource, PriceRefusedError, priceProblem, pythFeeds, type PriceLimits, type PriceObservation } from './prices.ts';
export {
  parseAssetPricing,
  parseChainMinimums,
  parseDecimal,
  parseNativeMinimums,
  valueDeposit,
  reachesMinimum,
  formatUsdMicros,
  chocoScale,
  ValuationConfigError,
  type AssetPricing,
  type Fraction,
  type Valuation,
} from './valuation.ts';
export { creditDeposit, reverseCredit, type CreditContext, type CreditSettings, type CreditOutcome } from './credits.ts';
export { creditDecisions, type CreditStatus, type DepositCredit } from './decisions.ts';
