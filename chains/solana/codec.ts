// Solana addresses: an ed25519 public key (or a program-derived address) as 32 bytes in base58.
// Base58 has one spelling per byte string, so the canonical form is the text itself, checked.
import { solanaAddress } from '../../signer/index.ts';
import { base58 } from '@scure/base';
import { InvalidAddressError, type AddressCodec } from '../types.ts';

const addressBytes = 32;
const base58Pattern = /^[1-9A-HJ-NP-Za-km-z]{32,44}$/;

function decodes(text: string): boolean {
  if (!base58Pattern.test(text)) return false;
  try {
    return base58.decode(text).length === addressBytes;
  } catch {
    return false;
  }
}

/** `amount` in minor units as the decimal Solana Pay wants (`1.5` for 1_500_000_000 lamports). */
function decimal(amount: bigint, scale: number): string {
  const digits = amount.toString().padStart(scale + 1, '0');
  const fraction = digits.slice(digits.length - scale).replace(/0+$/, '');
  const whole = digits.slice(0, digits.length - scale);
  return fraction ? `${whole}.${fraction}` : whole;
}

export const solanaAddressCodec: AddressCodec = {
  fromPublicKey: (publicKey) => solanaAddress(publicKey),
  isValid: decodes,
  canonical(text) {
    if (!decodes(text)) throw new InvalidAddressError(`"${text.slice(0, 80)}" is not a base58 Solana address of 32 bytes`);
    return text;
  },
  // Solana Pay transfer request: solana:<recipient>?amount=<decimal>&spl-token=<mint>.
  paymentUri({ address, amount, asset }) {
    const query = new URLSearchParams();
    if (amount !== undefined) query.set('amount', decimal(amount, asset?.scale ?? 9));
    if (asset?.contract) query.set('spl-token', asset.contract);
    const text = query.toString();
    return `solana:${address}${text ? `?${text}` : ''}`;
  },
};
