// Money is an integer count of minor units. These helpers are the only places where text
// becomes an amount, so "1e3", "0x10", "1.5" and " 7" are refused everywhere alike.
import { LedgerInputError } from './errors.ts';

/** numeric(78,0) holds any uint256 with room for sums of them. */
export const amountMax = 10n ** 78n - 1n;

export function parseAmount(text: string, field = 'amount'): bigint {
  if (!/^[0-9]{1,78}$/.test(text)) {
    throw new LedgerInputError('invalid_amount', `${field} must be a whole number of minor units as a decimal string, like "1500"`, field);
  }
  const value = BigInt(text);
  if (value <= 0n) throw new LedgerInputError('invalid_amount', `${field} must be greater than zero`, field);
  return value;
}

/** Renders minor units as a decimal in major units: formatUnits(1500000n, 6) === "1.5". */
export function formatUnits(amount: bigint, scale: number): string {
  const negative = amount < 0n;
  const digits = (negative ? -amount : amount).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}
