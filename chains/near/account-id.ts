// NEAR account ids: named (`alice.near`, `app.coffer.testnet`) or implicit (the lower-case hex of
// an ed25519 public key). nearcore's rules: 2 to 64 characters of a-z, 0-9 and the separators
// `-`, `_` (inside a part) and `.` (between parts). The one stored spelling is lower case.
import { InvalidAddressError, type AddressCodec } from '../types.ts';

const accountIdPattern = /^(([a-z0-9]+[-_])*[a-z0-9]+\.)*([a-z0-9]+[-_])*[a-z0-9]+$/;

export function isNearAccountId(text: string): boolean {
  return text.length >= 2 && text.length <= 64 && accountIdPattern.test(text);
}

export const nearAccountCodec: AddressCodec = {
  // The implicit account an ed25519 key controls.
  fromPublicKey: (publicKey) => {
    if (publicKey.length !== 32) throw new InvalidAddressError('a NEAR implicit account comes from a 32-byte ed25519 public key');
    return Buffer.from(publicKey).toString('hex');
  },
  isValid: (text) => isNearAccountId(text.toLowerCase()),
  canonical(text) {
    const lower = text.toLowerCase();
    if (!isNearAccountId(lower)) throw new InvalidAddressError(`"${text.slice(0, 80)}" is not a NEAR account id (2–64 of a-z, 0-9, - _ inside parts, . between)`);
    return lower;
  },
  // NEAR has no URI standard wallets agree on; this is the scheme users/ already hands out,
  // with the amount in yoctoNEAR (or the token's minor units) and the token contract when any.
  paymentUri({ address, amount, asset }) {
    const query = new URLSearchParams({ ...(amount !== undefined ? { amount: amount.toString() } : {}), ...(asset?.contract ? { token: asset.contract } : {}) }).toString();
    return `near:${address.toLowerCase()}${query ? `?${query}` : ''}`;
  },
};
