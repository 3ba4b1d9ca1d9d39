// The Solana fee payer: an ed25519 key of the keystore (SOLANA_FEE_PAYER_KEY) that pays every
// sweep's fee and rent, because a deposit address holding only tokens has no SOL. It is opened
// once, on first use (the keystore's key stretching is slow); its secret stays in signer/.
import type { Keystore, Signature } from '../../signer/index.ts';
import { ChainError } from '../types.ts';
import { solanaAddressCodec } from './codec.ts';

export interface SolanaFeePayer {
  /** The keystore key name, which payloads name as their operational signer. */
  name: string;
  address: () => Promise<string>;
  /** The `operational` callback of `signTransfer`. */
  sign: (name: string, message: Uint8Array) => Promise<Signature>;
}

export function keystoreFeePayer(keystore: Keystore | undefined, name: string): SolanaFeePayer {
  let opened: ReturnType<Keystore['ed25519Signer']> | undefined;
  const open = () => {
    if (!keystore) return Promise.reject(new ChainError('no_operational_key', `Solana sweeps need the fee payer key ${name} from the keystore, and no keystore is open`));
    opened ??= keystore.ed25519Signer(name);
    return opened;
  };
  return {
    name,
    address: async () => solanaAddressCodec.fromPublicKey((await open()).publicKey),
    async sign(keyName, message) {
      if (keyName !== name) throw new ChainError('no_operational_key', `the transaction needs the keystore key ${keyName}; only the fee payer ${name} is open`);
      return { curve: 'ed25519', signature: (await open()).sign(message) };
    },
  };
}
